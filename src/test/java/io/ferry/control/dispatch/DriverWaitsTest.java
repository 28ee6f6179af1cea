package io.ferry.control.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationReport;
import io.ferry.control.admission.AdmissionService;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestService;
import io.ferry.control.guest.GuestState;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.JobStore;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.job.ReportHandler;
import io.ferry.control.lease.JobLeases;
import io.ferry.control.lease.SweepLease;
import io.ferry.control.ownership.OwnershipService;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;

/**
 * The driver's waits after a control plane was down: a restarted (or taking-over) replica heard
 * nothing while nobody drove the job, so neither a source's silence nor a missing final report
 * counts from before it took the job; and a job whose guest already runs on its destination is
 * never failed (CI once saw one failed, "source unreachable", with the guest moved).
 */
class DriverWaitsTest {

    private static final Duration SOURCE_LOST_AFTER = Duration.ofSeconds(10);
    private static final Duration FINAL_REPORT_WAIT = Duration.ofSeconds(5);
    /** The restart: this replica drives the job from here. */
    private static final Instant TAKEN = Instant.parse("2026-12-07T06:40:06Z");
    /** The source's last heartbeat reached the control plane before it died, 12 s before the restart. */
    private static final Instant LAST_HEARTBEAT = TAKEN.minusSeconds(12);

    private final JobStore jobs = mock(JobStore.class);
    private final ReportHandler reports = mock(ReportHandler.class);
    private final GuestService guests = mock(GuestService.class);
    private final HostService hosts = mock(HostService.class);
    private final WorkerGateway workers = mock(WorkerGateway.class);
    private final JobLeases leases = mock(JobLeases.class);
    private final MigrationJob job = mock(MigrationJob.class);
    private final Guest guest = mock(Guest.class);
    private final Host source = mock(Host.class);
    private Instant lastHeartbeat = LAST_HEARTBEAT;

    private MigrationDispatcher dispatcherAt(Instant now) {
        UUID jobId = UUID.randomUUID();
        UUID guestId = UUID.randomUUID();
        when(job.id()).thenReturn(jobId);
        when(job.guestId()).thenReturn(guestId);
        when(job.status()).thenReturn(JobStatus.ACTIVE);
        when(job.sourceHostId()).thenReturn("host-b");
        when(job.destinationHostId()).thenReturn("host-a");
        when(job.updatedAt()).thenReturn(LAST_HEARTBEAT.minusSeconds(1));
        when(jobs.unfinished()).thenReturn(List.of(job));
        when(leases.drives(jobId)).thenReturn(true);
        when(leases.drivenSince(jobId)).thenReturn(TAKEN);
        when(guests.get(guestId)).thenReturn(guest);
        when(guest.state()).thenReturn(GuestState.RUNNING);
        when(source.id()).thenReturn("host-b");
        when(source.isReachable()).thenReturn(false);   // no heartbeat yet since the restart
        when(source.lastHeartbeatAt()).thenReturn(lastHeartbeat);
        when(hosts.find("host-b")).thenReturn(Optional.of(source));
        when(hosts.find("host-a")).thenReturn(Optional.empty());
        SweepLease sweeps = mock(SweepLease.class);
        return new MigrationDispatcher(jobs, reports, guests, hosts, mock(OwnershipService.class), workers,
                mock(AdmissionService.class), leases, sweeps, Clock.fixed(now, ZoneOffset.UTC), true,
                SOURCE_LOST_AFTER, Duration.ofSeconds(60), FINAL_REPORT_WAIT);
    }

    @Test
    void aHandedOverJobIsNeverFailedForItsSilentSourceButCompletedAfterTheWait() {
        when(guest.hostId()).thenReturn("host-a");
        // 1 s after the restart: the source is silent for 13 s (over source-lost-after), but the guest moved
        dispatcherAt(TAKEN.plusSeconds(1)).dispatch();
        verify(jobs, never()).failAsDriver(any(), anyString(), anyString());
        verify(reports, never()).recordReport(any(), any(), anyString());

        // past the final-report wait, counted from the restart, and past the source's silence, counted likewise
        dispatcherAt(TAKEN.plusSeconds(11)).dispatch();
        verify(jobs, never()).failAsDriver(any(), anyString(), anyString());
        ArgumentCaptor<MigrationReport> completed = ArgumentCaptor.forClass(MigrationReport.class);
        verify(reports).recordReport(eq(job.id()), completed.capture(), anyString());
        assertThat(completed.getValue().phase()).isEqualTo(MigrationPhase.COMPLETED);
    }

    @Test
    void aSourceSilenceCountsFromTheRestartNotFromBeforeTheOutage() {
        when(guest.hostId()).thenReturn("host-b");
        dispatcherAt(TAKEN.plusSeconds(9)).dispatch();
        verify(jobs, never()).failAsDriver(any(), anyString(), anyString());

        dispatcherAt(TAKEN.plusSeconds(11)).dispatch();
        ArgumentCaptor<String> reason = ArgumentCaptor.forClass(String.class);
        verify(jobs).failAsDriver(eq(job.id()), reason.capture(), anyString());
        assertThat(reason.getValue()).startsWith("source host 'host-b' unreachable since " + LAST_HEARTBEAT);
    }

    @Test
    void aSourceSilentLongBeforeThisReplicaTookTheJobIsJudgedByItsHeartbeatWhenThatIsLater() {
        when(guest.hostId()).thenReturn("host-b");
        Instant heartbeat = TAKEN.plusSeconds(30);   // heard after the restart, then silent
        lastHeartbeat = heartbeat;
        dispatcherAt(heartbeat.plusSeconds(9)).dispatch();
        verify(jobs, never()).failAsDriver(any(), anyString(), anyString());
        dispatcherAt(heartbeat.plusSeconds(11)).dispatch();
        verify(jobs).failAsDriver(eq(job.id()), anyString(), anyString());
    }
}
