package io.ferry.control.job;

import io.ferry.channel.MigrationProgress;
import io.ferry.control.guest.GuestService;
import io.ferry.control.lease.JobLeases;
import io.ferry.control.ownership.DiskOwnership;
import io.ferry.control.ownership.OwnershipService;
import io.ferry.channel.OwnershipState;
import java.util.List;
import java.util.UUID;
import org.springframework.stereotype.Service;
import tools.jackson.databind.json.JsonMapper;

/** Read views of jobs: lists, timelines, figures merged from both sides, disks' states. */
@Service
public class JobViews {

    private final JobStore store;
    private final JobListQuery lists;
    private final JobEventRepository events;
    private final GuestService guests;
    private final OwnershipService ownership;
    private final JsonMapper json;
    private final JobLeases leases;

    JobViews(JobStore store, JobListQuery lists, JobEventRepository events, GuestService guests,
             OwnershipService ownership, JsonMapper json, JobLeases leases) {
        this.leases = leases;
        this.store = store;
        this.lists = lists;
        this.events = events;
        this.guests = guests;
        this.ownership = ownership;
        this.json = json;
    }

    public MigrationJob get(UUID id) {
        return store.get(id);
    }

    /** Jobs newest first, {@code size} of them after {@code after} (keyset: as fast on page 5000 as on page 1). */
    public JobPage list(JobFilter filter, JobCursor after, int size) {
        return lists.byCursor(filter, after, size);
    }

    /** Page {@code page} of the jobs newest first, with their count; deep pages cost more: prefer {@link #list(JobFilter, JobCursor, int)}. */
    public JobPage page(JobFilter filter, int page, int size) {
        return lists.byNumber(filter, page, size);
    }

    public List<JobEvent> events(UUID id) {
        store.get(id);
        return events.findByJobIdOrderByIdAsc(id);
    }

    /** The replica that drives the job now (null unless it runs). */
    public JobDriver driver(MigrationJob job) {
        if (!job.status().isRunning()) {
            return null;
        }
        return leases.current(job.id()).map(l -> new JobDriver(l.owner().substring(0, l.owner().indexOf('/')),
                l.epoch(), l.expiresAt())).orElse(null);
    }

    /** Each disk of the job's guest with the state of both sides (see {@link JobDiskState}). */
    public List<JobDiskState> diskStates(MigrationJob job) {
        return guests.disksOf(job.guestId()).stream().map(disk -> {
            DiskOwnership now = ownership.find(disk.id()).orElseThrow();
            String source;
            String destination;
            if (!job.status().isTerminal()) {
                boolean opened = job.status() != JobStatus.QUEUED;
                if (now.state() == OwnershipState.HANDOFF) {
                    source = JobDiskState.INACTIVE;
                    destination = JobDiskState.INACTIVE;
                } else if (now.ownerHostId().equals(job.destinationHostId())) {
                    source = JobDiskState.INACTIVE;
                    destination = JobDiskState.ACTIVE;
                } else {
                    source = JobDiskState.ACTIVE;
                    destination = opened ? JobDiskState.INACTIVE : JobDiskState.ABSENT;
                }
            } else {
                // as the job left it: its last step on this disk, if it took one
                var last = ownership.history(disk.id()).stream().filter(r -> job.id().equals(r.jobId()))
                        .reduce((a, b) -> b);
                boolean handedOff = last.isPresent() && last.get().state()
                        == OwnershipState.HANDOFF;
                boolean moved = last.isPresent() && !handedOff
                        && last.get().ownerHostId().equals(job.destinationHostId());
                source = handedOff ? JobDiskState.INACTIVE : moved ? JobDiskState.ABSENT : JobDiskState.ACTIVE;
                destination = handedOff ? JobDiskState.INACTIVE : moved ? JobDiskState.ACTIVE : JobDiskState.ABSENT;
            }
            return new JobDiskState(disk.id(), disk.name(), now.ownerHostId(), now.state().apiName(),
                    now.generation(), source, destination);
        }).toList();
    }

    /** The source's figures, with the destination's digests and fault latencies merged in when it reported them. */
    public MigrationProgress progress(MigrationJob job) {
        if (job.progress() == null) {
            return null;
        }
        MigrationProgress p = json.readValue(job.progress(), MigrationProgress.class);
        if (job.destinationFaults() != null && p.postcopy() != null) {
            MigrationProgress.Postcopy s = p.postcopy();
            p = new MigrationProgress(p.setupTimeMs(), p.totalTimeMs(), p.expectedDowntimeMs(), p.downtimeMs(), p.ram(),
                    p.disk(), new MigrationProgress.Postcopy(s.requests(), s.bytesBeforePause(), s.bytesDuringPause(),
                    s.bytesAfterPause(), s.recoveries(), json.readValue(job.destinationFaults(),
                    MigrationProgress.FaultLatency.class)), p.verification(), p.dataPlane(), p.convergence());
        }
        if (job.destinationVerification() != null && p.verification() != null) {
            MigrationProgress.Verification d = json.readValue(job.destinationVerification(),
                    MigrationProgress.Verification.class);
            p = new MigrationProgress(p.setupTimeMs(), p.totalTimeMs(), p.expectedDowntimeMs(), p.downtimeMs(), p.ram(),
                    p.disk(), p.postcopy(), new MigrationProgress.Verification(p.verification().sourceMemory(),
                    d.destinationMemory(), p.verification().sourceDeviceState(), d.destinationDeviceState(),
                    p.verification().sourceDisks(), d.destinationDisks()), p.dataPlane(), p.convergence());
        }
        return p;
    }

}
