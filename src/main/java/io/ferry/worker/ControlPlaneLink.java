package io.ferry.worker;

import io.ferry.channel.HandoffStep;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.ControlChannel;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.WorkerCredential;
import io.ferry.channel.WorkerHeartbeat;
import io.ferry.channel.WorkerRegistration;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import io.ferry.channel.DiskGeneration;
import io.ferry.channel.OwnershipGrant;
import io.ferry.channel.OwnershipStep;
import io.ferry.migration.OwnershipArbiter;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * Keeps this worker known to the control plane: registers, then sends a heartbeat every
 * interval with the guests it holds. When the control plane is gone the worker carries on and
 * keeps trying; when it answers "unknown" (404) the worker registers again.
 *
 * <p>Identity: the configured token is a bootstrap credential only. Registration (with it)
 * answers this worker's own credential, which every further request carries, to whichever
 * replica it goes (they share the database that knows it). A 401 means the credential was
 * revoked or replaced: the worker drops it and registers again with the bootstrap token.
 */
final class ControlPlaneLink implements AutoCloseable, OwnershipArbiter {

    private static final Logger log = LoggerFactory.getLogger(ControlPlaneLink.class);

    private final WorkerConfig config;
    private final String instance;
    private final Supplier<WorkerRegistration> registration;
    private final GuestHost guests;
    private final HttpClient http;
    private final JsonMapper json = JsonMapper.builder().build();
    private final Thread thread;
    private final ExecutorService reports = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "migration-reports");
        t.setDaemon(true);
        return t;
    });
    /** The replica in use; the next one is tried when it cannot be reached. */
    private volatile int current;
    private final ControlPlaneEndpoints endpoints;
    private volatile boolean running = true;
    /** This worker's own credential from its latest registration; null until then and after a 401. */
    private volatile String credential;
    private volatile boolean registered;
    private boolean reachable = true;

    ControlPlaneLink(WorkerConfig config, String instance, Supplier<WorkerRegistration> registration,
                     GuestHost guests) {
        this.config = config;
        this.endpoints = ControlPlaneEndpoints.resolving(config.controlPlaneUrls());
        this.instance = instance;
        this.registration = registration;
        this.guests = guests;
        HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2));
        if (config.security().controlChannel() != null) {
            // trust only a certificate naming the control plane, from the control channel's CA
            client.sslContext(config.security().controlChannel().clientContext());
        }
        this.http = client.build();
        this.thread = new Thread(this::run, "control-plane-link");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void run() {
        while (running) {
            try {
                if (!registered) {
                    registered = register();
                    if (registered) {
                        log.info("registered with control plane {}; using this worker's own credential from now on",
                                url());
                    }
                } else {
                    int status = send(ControlChannel.heartbeat(config.hostId()), "POST",
                            new WorkerHeartbeat(instance, guests.reports()));
                    if (status == 404) {
                        log.info("control plane does not know this worker (restarted?); registering again");
                        registered = false;
                        continue;
                    }
                    if (status == 401) {
                        continue;   // registers again at once (see send)
                    }
                }
                if (!reachable) {
                    log.info("control plane {} is reachable again", url());
                    reachable = true;
                }
            } catch (IOException e) {
                if (reachable) {
                    log.warn("control plane {} unreachable ({}); guests keep running, retrying",
                            url(), e.toString());
                    reachable = false;
                }
            } catch (InterruptedException e) {
                return;
            }
            try {
                Thread.sleep(config.heartbeatInterval().toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private URI url() {
        List<URI> urls = endpoints.all();
        return urls.get(Math.floorMod(current, urls.size()));
    }

    /**
     * {@code failed} could not be reached: the next replica is used from now on. Having gone
     * round them all, the names are resolved again (a replica may have a new address).
     */
    private void moveOn(URI failed, Exception why) {
        synchronized (this) {
            List<URI> urls = endpoints.all();
            if (!url().equals(failed)) {
                return;   // another request moved on already
            }
            int next = Math.floorMod(current + 1, urls.size());
            if (next == 0 && endpoints.refresh()) {
                urls = endpoints.all();
            }
            current = next;
            if (urls.size() > 1) {
                log.warn("control plane {} unreachable ({}); trying {}", failed, why.toString(), url());
            }
        }
    }

    /** Registers with the bootstrap token; true (and the new credential kept) on 200. */
    private boolean register() throws IOException, InterruptedException {
        HttpResponse<byte[]> response = exchange(ControlChannel.register(config.hostId()), "PUT", registration.get(),
                config.token());
        if (response.statusCode() != 200) {
            log.warn("control plane answered {} to the registration of host {}{}", response.statusCode(),
                    config.hostId(), response.statusCode() == 403 ? ": " + new String(response.body(),
                            java.nio.charset.StandardCharsets.UTF_8) : "");
            return false;
        }
        WorkerCredential issued = json.readValue(response.body(), WorkerCredential.class);
        if (issued.credential() == null || !config.hostId().equals(issued.hostId())) {
            log.warn("control plane answered the registration without a credential for host {}", config.hostId());
            return false;
        }
        synchronized (this) {
            credential = issued.credential();
        }
        return true;
    }

    /**
     * {@code refused} was revoked or replaced (or this worker never had one): forget it and
     * register again, which the link thread does at its next turn. A refusal of an older
     * credential than the one held now (a request that raced a registration) changes nothing.
     */
    private synchronized void unauthorized(String refused, String method, String path) {
        if (refused != null && !refused.equals(credential)) {
            return;
        }
        if (credential != null) {
            log.warn("control plane refused this worker's credential for {} {} (revoked or replaced); "
                    + "registering again with the bootstrap token", method, path);
        }
        credential = null;
        registered = false;   // the link thread registers at its next turn, within a heartbeat interval
    }

    /** Sends to the replica in use, and on to the others (each once) when it cannot be reached. */
    private int send(String path, String method, Object body) throws IOException, InterruptedException {
        String own = credential;
        if (own == null) {
            unauthorized(null, method, path);
            return 401;   // not registered (again) yet: the bootstrap token would only be refused
        }
        int status = exchange(path, method, body, own).statusCode();
        if (status == 401) {
            unauthorized(own, method, path);
        } else if (status >= 400 && status != 404 && status != 409 && status != 410) {
            log.warn("control plane answered {} to {} {}", status, method, path);
        }
        return status;
    }

    private HttpResponse<byte[]> exchange(String path, String method, Object body, String token)
            throws IOException, InterruptedException {
        byte[] bytes = json.writeValueAsBytes(body);
        for (int tried = 1; ; tried++) {
            URI base = url();
            HttpRequest request = HttpRequest.newBuilder(URI.create(base + path))
                    .timeout(Duration.ofSeconds(5))
                    .header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofByteArray(bytes))
                    .build();
            try {
                return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                moveOn(base, e);
                if (tried >= endpoints.all().size()) {
                    throw e;
                }
            }
        }
    }

    /**
     * Sends a migration report on the link's own sender thread, in order. A report that ends a
     * job is retried until the control plane has it; progress figures are only best effort.
     */
    void report(MigrationReport report) {
        report(report, jobId -> { });
    }

    /** As {@link #report(MigrationReport)}; {@code gone} runs when the control plane says the job has ended (410). */
    void report(MigrationReport report, java.util.function.Consumer<java.util.UUID> gone) {
        reports.execute(() -> {
            boolean terminal = !report.phase().equals(MigrationPhase.PROGRESS)
                    && !report.phase().equals(MigrationPhase.ACTIVE);
            for (int attempt = 0; running; attempt++) {
                try {
                    int status = send(ControlChannel.migrationReport(report.jobId()), "POST", report);
                    if (status == 410) {
                        gone.accept(report.jobId());
                    }
                    if ((status < 500 && status != 401) || !terminal) {
                        return;   // a 401 is retried: the link registers again meanwhile
                    }
                } catch (IOException e) {
                    if (!terminal) {
                        return;
                    }
                } catch (InterruptedException e) {
                    return;
                }
                try {
                    Thread.sleep(Math.min(5_000, 200L << Math.min(attempt, 5)));
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /**
     * A hand-off step at the control plane. Only an answer decides: 200 grants, 409/404/400
     * refuse; no connection, a timeout or a 5xx (a raced write) is retried until {@code within}.
     */
    @Override
    public Answer step(UUID jobId, HandoffStep step, Map<String, Long> base, Duration within)
            throws InterruptedException {
        OwnershipStep body = new OwnershipStep(step, config.hostId(), base.entrySet().stream()
                .map(e -> new DiskGeneration(UUID.fromString(e.getKey()), e.getValue())).toList());
        return ask("POST", ControlChannel.migrationOwnership(jobId), body, within);
    }

    @Override
    public Answer read(UUID jobId, Duration within) throws InterruptedException {
        return ask("GET", ControlChannel.migrationOwnership(jobId), null, within);
    }

    private Answer ask(String method, String path, Object body, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        String last = "no attempt";
        int unreachableInRow = 0;
        for (int attempt = 0; ; attempt++) {
            URI base = url();
            String own = credential;
            try {
                if (own == null) {
                    throw new NotRegisteredYet();
                }
                HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                        .timeout(Duration.ofSeconds(3))
                        .header("Authorization", "Bearer " + own)
                        .header("Content-Type", "application/json");
                request = body == null ? request.GET()
                        : request.method(method, HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body)));
                HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
                int status = response.statusCode();
                if (status == 200) {
                    OwnershipGrant grant = json.readValue(response.body(), OwnershipGrant.class);
                    return answered(new Answer(Verdict.GRANTED, grant.disks(), null, grant.jobStatus()), method, path,
                            base, attempt, deadline - within.toNanos(), last);
                }
                String detail = new String(response.body(), java.nio.charset.StandardCharsets.UTF_8);
                if (status == 401) {
                    unauthorized(own, method, path);   // retried below once the link has registered again
                } else if (status == 409 || status == 404 || status == 400 || status == 403) {
                    return answered(new Answer(Verdict.REFUSED, List.of(), detail), method, path, base, attempt,
                            deadline - within.toNanos(), last);
                }
                last = "HTTP " + status + " " + detail;
                unreachableInRow = 0;
            } catch (NotRegisteredYet e) {
                last = "not registered (again) yet";
                unreachableInRow = 0;
            } catch (IOException e) {
                last = e.toString();
                moveOn(base, e);
                unreachableInRow++;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                log.warn("control plane gave no answer to {} {} within {} ms: {}", method, path, within.toMillis(),
                        last);
                return new Answer(Verdict.UNREACHABLE, List.of(), "control plane " + url()
                        + " gave no answer within " + within.toMillis() + " ms (" + last + ")");
            }
            if (unreachableInRow % endpoints.all().size() != 0) {
                continue;   // the next replica is asked at once: a hand-off step must not wait for a dead one
            }
            Thread.sleep(Math.min(left / 1_000_000 + 1, Math.min(1_000, 50L << Math.min(attempt, 5))));
        }
    }

    /** No own credential at the moment (between a 401 and the next registration): wait, and ask again. */
    private static final class NotRegisteredYet extends Exception {

        NotRegisteredYet() {
            super(null, null, false, false);
        }
    }

    /** A hand-off answer that took retries or long is worth a line: it is guest downtime. */
    private static Answer answered(Answer answer, String method, String path, URI base, int attempt, long startedNanos,
                                   String last) {
        long ms = (System.nanoTime() - startedNanos) / 1_000_000;
        if (attempt > 0 || ms > 1_000) {
            log.info("control plane {} answered {} {} ({}) after {} ms and {} attempt(s); the last failure: {}", base,
                    method, path, answer.verdict(), ms, attempt + 1, last);
        }
        return answer;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        reports.shutdown();
    }
}
