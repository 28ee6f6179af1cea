package io.ferry.control.dispatch;

import io.ferry.channel.ControlChannel;
import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.ErrorReply;
import io.ferry.channel.GuestChecksumsReport;
import io.ferry.channel.GuestReport;
import io.ferry.channel.StartIncomingCommand;
import io.ferry.channel.StartOutgoingCommand;
import io.ferry.channel.TuneMigrationCommand;
import io.ferry.control.host.Host;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.host.WorkerRejectedException;
import io.ferry.control.host.WorkerUnavailableException;
import io.ferry.control.lease.JobLeases;
import io.ferry.control.system.AccessTokens;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.UUID;
import java.util.function.Function;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.http.HttpHeaders;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.stereotype.Component;
import org.springframework.web.client.ResourceAccessException;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientResponseException;

/**
 * The control plane's side of the control channel: commands to a host's worker over HTTP.
 *
 * <p>Commands carry the shared worker token, not the worker's own credential: the control plane
 * keeps that credential only hashed (a database reader must not be able to act as a worker), so
 * it cannot present it. Outside the embedded set-up the control plane proves itself by the
 * control channel's mutual TLS ({@link ControlChannelSecurity}): a worker with control-channel
 * certificates obeys only a client certificate naming the control plane, whatever the token.
 */
@Component
class WorkerClient implements WorkerGateway {

    private final RestClient rest;
    /** With the control channel's TLS material, if any; shared by every request factory. */
    private final HttpClient http;
    private final JobLeases leases;
    private final String scheme;

    WorkerClient(AccessTokens tokens, JobLeases leases, ControlChannelSecurity security,
                 @Value("${ferry.worker.command-timeout}") Duration commandTimeout) {
        this.http = security.httpClient().build();
        this.scheme = security.workerScheme();
        JdkClientHttpRequestFactory factory = new JdkClientHttpRequestFactory(http);
        factory.setReadTimeout(commandTimeout);
        this.leases = leases;
        this.rest = RestClient.builder().requestFactory(factory)
                .defaultHeader(HttpHeaders.AUTHORIZATION, "Bearer " + tokens.workerToken())
                .build();
    }

    @Override
    public GuestReport createGuest(Host host, CreateGuestCommand command) {
        return call(host, "create guest " + command.guestId(), r -> r.post()
                .uri(base(host) + ControlChannel.GUESTS).body(command).retrieve().body(GuestReport.class));
    }

    @Override
    public void destroyGuest(Host host, UUID guestId, boolean deleteImages) {
        call(host, "destroy guest " + guestId, r -> r.delete()
                .uri(base(host) + ControlChannel.GUESTS + "/" + guestId + "?deleteImages=" + deleteImages)
                .retrieve().toBodilessEntity());
    }

    @Override
    public GuestReport pauseGuest(Host host, UUID guestId) {
        return call(host, "pause guest " + guestId, r -> r.post()
                .uri(base(host) + ControlChannel.GUESTS + "/" + guestId + "/pause").retrieve().body(GuestReport.class));
    }

    @Override
    public GuestReport resumeGuest(Host host, UUID guestId) {
        return call(host, "resume guest " + guestId, r -> r.post()
                .uri(base(host) + ControlChannel.GUESTS + "/" + guestId + "/resume").retrieve().body(GuestReport.class));
    }

    @Override
    public GuestChecksumsReport checksums(Host host, UUID guestId) {
        return call(host, "checksum guest " + guestId, r -> r.get()
                .uri(base(host) + ControlChannel.GUESTS + "/" + guestId + "/checksums").retrieve()
                .body(GuestChecksumsReport.class));
    }

    @Override
    public void startIncoming(Host host, StartIncomingCommand command) {
        call(host, "expect migration " + command.jobId(), r -> r.post()
                .uri(base(host) + ControlChannel.MIGRATIONS + "/incoming").headers(driver(command.jobId())).body(command).retrieve().toBodilessEntity());
    }

    @Override
    public io.ferry.channel.MigrationStateReport migrationState(Host host, UUID jobId) {
        return call(host, "ask about migration " + jobId, r -> r.get()
                .uri(base(host) + ControlChannel.MIGRATIONS + "/" + jobId).retrieve()
                .body(io.ferry.channel.MigrationStateReport.class));
    }

    @Override
    public void startOutgoing(Host host, StartOutgoingCommand command) {
        call(host, "start migration " + command.jobId(), r -> r.post()
                .uri(base(host) + ControlChannel.MIGRATIONS + "/outgoing").headers(driver(command.jobId())).body(command).retrieve().toBodilessEntity());
    }

    @Override
    public boolean cancelMigration(Host host, UUID jobId) {
        try {
            call(host, "cancel migration " + jobId, r -> r.post()
                    .uri(base(host) + ControlChannel.MIGRATIONS + "/" + jobId + "/cancel")
                    .headers(driver(jobId)).retrieve().toBodilessEntity());
            return true;
        } catch (WorkerRejectedException e) {
            if (e.status() == 409) {
                return false;
            }
            throw e;
        }
    }

    @Override
    public void tuneMigration(Host host, UUID jobId, TuneMigrationCommand command) {
        call(host, "tune migration " + jobId, r -> r.post()
                .uri(base(host) + ControlChannel.MIGRATIONS + "/" + jobId + "/tune")
                    .headers(driver(jobId)).body(command).retrieve()
                .toBodilessEntity());
    }

    @Override
    public void startPostcopy(Host host, UUID jobId) {
        call(host, "switch migration " + jobId + " to post-copy", r -> r.post()
                .uri(base(host) + ControlChannel.MIGRATIONS + "/" + jobId + "/postcopy")
                    .headers(driver(jobId)).retrieve().toBodilessEntity());
    }

    @Override
    public void recoverMigration(Host host, UUID jobId) {
        call(host, "recover migration " + jobId, r -> r.post()
                .uri(base(host) + ControlChannel.MIGRATIONS + "/" + jobId + "/recover")
                    .headers(driver(jobId)).retrieve().toBodilessEntity());
    }

    /** A job command carries the epoch of this replica's lease on the job, when it drives it (see {@link JobLeases}). */
    private java.util.function.Consumer<HttpHeaders> driver(UUID jobId) {
        long epoch = leases.epochOf(jobId);
        return headers -> {
            if (epoch > 0) {
                headers.set(ControlChannel.DRIVER_EPOCH_HEADER, Long.toString(epoch));
            }
        };
    }

    private String base(Host host) {
        return scheme + "://" + host.controlAddress();
    }

    private <T> T call(Host host, String what, Function<RestClient, T> request) {
        try {
            return request.apply(rest);
        } catch (RestClientResponseException e) {
            ErrorReply reply = e.getResponseBodyAs(ErrorReply.class);
            String reason = reply != null && reply.error() != null ? reply.error() : e.getStatusText();
            throw new WorkerRejectedException(e.getStatusCode().value(),
                    "worker on '" + host.id() + "' refused to " + what + ": " + reason);
        } catch (ResourceAccessException e) {
            throw new WorkerUnavailableException("worker on '" + host.id() + "' (" + host.controlAddress()
                    + ") could not " + what + ": " + e.getMostSpecificCause().getMessage(), e);
        }
    }

    /** Slack beyond the window for the two hashing passes and the round trip. */
    private static final Duration DIRTY_RATE_SLACK = Duration.ofSeconds(30);

    @Override
    public io.ferry.channel.DirtyRateReport measureDirtyRate(Host host, UUID guestId,
                                                             io.ferry.channel.DirtyRateCommand command) {
        long windowMs = command.windowMs() == null ? io.ferry.channel.DirtyRateCommand.DEFAULT_WINDOW_MS
                : command.windowMs();
        // the worker answers after the window: this call's read timeout must outlast it
        // same client (and TLS) as every other command, with a read timeout that outlasts the window
        JdkClientHttpRequestFactory factory = new JdkClientHttpRequestFactory(http);
        factory.setReadTimeout(Duration.ofMillis(windowMs).plus(DIRTY_RATE_SLACK));
        RestClient slow = rest.mutate().requestFactory(factory).build();
        return call(host, "measure the dirty rate of guest " + guestId, r -> slow.post()
                .uri(base(host) + ControlChannel.GUESTS + "/" + guestId + "/dirty-rate")
                .body(command).retrieve()
                .body(io.ferry.channel.DirtyRateReport.class));
    }

    @Override
    public void forceCompleteMigration(Host host, UUID jobId) {
        call(host, "force migration " + jobId + " to complete", r -> r.post()
                .uri(base(host) + ControlChannel.MIGRATIONS + "/" + jobId + "/force-complete")
                    .headers(driver(jobId)).retrieve()
                .toBodilessEntity());
    }

    @Override
    public io.ferry.channel.AbandonReport abandonMigration(Host host, UUID jobId,
                                                           io.ferry.channel.AbandonCommand command) {
        return call(host, "abandon migration " + jobId, r -> r.post()
                .uri(base(host) + ControlChannel.MIGRATIONS + "/" + jobId + "/abandon")
                    .headers(driver(jobId)).body(command).retrieve()
                .body(io.ferry.channel.AbandonReport.class));
    }

    @Override
    public io.ferry.channel.SavedGuestReport saveGuest(Host host, UUID guestId, io.ferry.channel.SaveGuestCommand command) {
        return call(host, "save guest " + guestId, r -> r.post()
                .uri(base(host) + ControlChannel.GUESTS + "/" + guestId + "/save").body(command).retrieve()
                .body(io.ferry.channel.SavedGuestReport.class));
    }

    @Override
    public io.ferry.channel.SavedLayoutReport savedLayout(Host host, io.ferry.channel.SavedLayoutQuery query) {
        return call(host, "read the saved guest '" + query.restoreFrom() + "'", r -> r.post()
                .uri(base(host) + ControlChannel.SAVES + "/layout").body(query).retrieve()
                .body(io.ferry.channel.SavedLayoutReport.class));
    }

    @Override
    public GuestReport restoreGuest(Host host, io.ferry.channel.RestoreGuestCommand command) {
        return call(host, "restore guest " + command.guestId() + " from '" + command.restoreFrom() + "'", r -> r.post()
                .uri(base(host) + ControlChannel.SAVES + "/restore").body(command).retrieve()
                .body(GuestReport.class));
    }
}
