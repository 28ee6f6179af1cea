package io.ferry.bench;

import java.io.IOException;
import java.io.StringReader;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

/**
 * The rows {@code bench-control} measures the API against, written by COPY: hosts (reachable rows,
 * no worker behind them), guests, and jobs with their timelines over the last days, mostly
 * finished; with the first step {@value #ACTIVE} active jobs that hold every cluster slot and
 * {@value #QUEUED} queued ones, so a created job waits in the queue and nothing reaches a worker.
 */
final class JobSeeder {

    static final List<String> HOSTS = List.of("host-a", "host-b", "host-c", "host-d");
    /** Jobs holding slots: more than the default cluster limit (5), so the queue stays a queue. */
    static final int ACTIVE = 8;
    static final int QUEUED = 20;

    private final int guestCount;
    private final Random random = new Random(42);
    private final List<UUID> guests = new ArrayList<>();
    private final List<String> guestHosts = new ArrayList<>();
    private final List<UUID> jobIds = new ArrayList<>();
    private Instant seededUntil;
    private int nextFreeGuest;

    JobSeeder(int guestCount) {
        this.guestCount = guestCount;
    }

    /** A guest with no unfinished job, {@code i} counting from the first such. */
    UUID idleGuest(int i) {
        return guests.get(ACTIVE + QUEUED + 1 + i % (guestCount - ACTIVE - QUEUED - 1));
    }

    /** The guest that about 1 % of all jobs moved. */
    UUID busyGuest() {
        return guests.get(ACTIVE + QUEUED);
    }

    UUID randomJob() {
        return jobIds.get(random.nextInt(jobIds.size()));
    }

    /** A new job's body for the next guest with no unfinished job (round robin), to the next host. */
    Map<String, String> nextCreate() {
        int g = nextFreeGuest++;
        if (nextFreeGuest >= guests.size()) {
            nextFreeGuest = ACTIVE + QUEUED + 1;
        }
        String destination = HOSTS.get((HOSTS.indexOf(guestHosts.get(g)) + 1) % HOSTS.size());
        return Map.of("guestId", guests.get(g).toString(), "destinationHostId", destination);
    }

    void seedHostsAndGuests(Connection db) throws Exception {
        Instant now = Instant.now();
        StringBuilder hosts = new StringBuilder();
        for (String h : HOSTS) {
            hosts.append(csv(h, "REACHABLE", "bench-" + h, "127.0.0.1:1", "127.0.0.1:2", 1L << 40, 16, now, now, 0,
                    "bench-store")).append('\n');
        }
        copy(db, "hosts (id, state, worker_instance, control_address, data_address, memory_capacity_bytes, cpus, "
                + "registered_at, last_heartbeat_at, version, datastore_id)", hosts);
        StringBuilder rows = new StringBuilder();
        StringBuilder blocks = new StringBuilder();
        for (int i = 0; i < guestCount; i++) {
            UUID id = UUID.randomUUID();
            String host = HOSTS.get(i % HOSTS.size());
            guests.add(id);
            guestHosts.add(host);
            rows.append(csv(id, "vm-" + i, host, "running", "bench-" + host, 1, 64L << 20, 4096, 0, 1.0, 0, i,
                    now.minus(400, ChronoUnit.DAYS), 0)).append('\n');
            blocks.append(csv(id, 0, "pc.ram", 64L << 20)).append('\n');
        }
        copy(db, "guests (id, name, host_id, state, worker_instance, state_seq, memory_bytes, device_state_bytes, "
                + "dirty_pages_per_second, hot_set_fraction, disk_writes_per_second, workload_seed, created_at, version)",
                rows);
        copy(db, "ram_blocks (guest_id, position, name, size_bytes)", blocks);
        nextFreeGuest = ACTIVE + QUEUED + 1;   // the first guests take the unfinished jobs, the next is busy
    }

    /**
     * Jobs {@code from} to {@code to}, over the 90 days before now, older first: mostly completed,
     * some failed or cancelled, each with its timeline; the newest {@value #ACTIVE} active and
     * {@value #QUEUED} queued jobs are seeded once, with the first step.
     */
    void seedJobs(Connection db, int from, int to) throws Exception {
        Instant end = Instant.now().truncatedTo(ChronoUnit.MICROS);
        Instant start = seededUntil == null ? end.minus(90, ChronoUnit.DAYS) : end.minus(180, ChronoUnit.DAYS);
        int count = to - from;
        boolean first = from == 0;
        StringBuilder jobs = new StringBuilder();
        StringBuilder events = new StringBuilder();
        long span = ChronoUnit.MICROS.between(start, seededUntil == null ? end : seededUntil.minus(1, ChronoUnit.DAYS));
        for (int i = 0; i < count; i++) {
            boolean unfinished = first && i >= count - ACTIVE - QUEUED;
            // one guest moved again and again (1 % of the jobs), the others now and then
            int guestIndex = unfinished ? i - (count - ACTIVE - QUEUED)
                    : random.nextInt(100) == 0 ? ACTIVE + QUEUED
                    : ACTIVE + QUEUED + 1 + random.nextInt(guestCount - ACTIVE - QUEUED - 1);
            UUID guest = guests.get(guestIndex);
            String source = guestHosts.get(guestIndex);
            String destination = HOSTS.get((HOSTS.indexOf(source) + 1 + random.nextInt(HOSTS.size() - 1)) % HOSTS.size());
            // several jobs a second at the busiest: some share a createdAt to the microsecond with a neighbour
            Instant created = start.plus(span * i / count, ChronoUnit.MICROS);
            if (unfinished) {
                created = end.minusSeconds(ACTIVE + QUEUED - (i - (count - ACTIVE - QUEUED)));
            }
            UUID id = UUID.randomUUID();
            jobIds.add(id);
            String status;
            int roll = random.nextInt(100);
            if (unfinished) {
                status = i - (count - ACTIVE - QUEUED) < ACTIVE ? "active" : "queued";
            } else {
                status = roll < 85 ? "completed" : roll < 93 ? "failed" : "cancelled";
            }
            Instant started = created.plusMillis(50 + random.nextInt(2000));
            Instant finished = started.plusMillis(2000 + random.nextInt(60_000));
            String failure = status.equals("failed") ? "destination closed the connection" : null;
            boolean ran = !status.equals("queued") && !(status.equals("cancelled") && roll % 2 == 0);
            Instant updated = switch (status) {
                case "queued" -> created;
                case "active" -> started.plusMillis(100);
                default -> finished;
            };
            jobs.append(csv(id, guest, source, destination, status, status, failure, 134217728, 300, "SHARED",
                    false, false, false, "none", 1, created, updated, ran ? started : null,
                    status.equals("completed") || status.equals("failed") || status.equals("cancelled") ? finished : null,
                    ran ? 4 : 1, "USER", 64L << 20, 64L << 20,
                    status.equals("queued") ? "cluster limit: 8 of 5 jobs running" : null,
                    ran ? "bench-" + source : null, ran ? "bench-" + destination : null)).append('\n');
            events.append(csv(id, created, null, "queued", "queued", "api:bench")).append('\n');
            if (ran) {
                events.append(csv(id, started, "queued", "setup", "admitted", "system")).append('\n');
                events.append(csv(id, started.plusMillis(100), "setup", "active", "source connected", "worker")).append('\n');
            }
            switch (status) {
                case "completed" -> events.append(csv(id, finished, "active", "completed", "switchover done", "worker"));
                case "failed" -> events.append(csv(id, finished, ran ? "active" : "queued", "failed", failure, "worker"));
                case "cancelled" -> events.append(csv(id, finished, ran ? "active" : "queued", "cancelled",
                        "cancel requested by api:bench", "api:bench"));
                default -> { }
            }
            if (!status.equals("active") && !status.equals("queued")) {
                events.append('\n');
            }
            if (jobs.length() > 8 << 20) {
                flushJobs(db, jobs, events);
            }
        }
        flushJobs(db, jobs, events);
        if (first) {
            try (Statement s = db.createStatement()) {
                for (int k = 0; k < ACTIVE + QUEUED; k++) {
                    UUID job = jobIds.get(jobIds.size() - ACTIVE - QUEUED + k);
                    s.execute("update guests set active_job_id = '" + job + "' where id = '" + guests.get(k) + "'");
                }
            }
        }
        seededUntil = start;
    }

    private void flushJobs(Connection db, StringBuilder jobs, StringBuilder events) throws SQLException, IOException {
        copy(db, "migration_jobs (id, guest_id, source_host_id, destination_host_id, status, status_reason, failure, "
                + "max_bandwidth, downtime_limit_ms, storage_mode, postcopy, auto_converge, xbzrle, compression, "
                + "channels, created_at, updated_at, started_at, finished_at, version, priority, memory_bytes, "
                + "transfer_bytes, waiting_for, source_worker_instance, destination_worker_instance)", jobs);
        copy(db, "job_events (job_id, at, from_status, to_status, reason, actor)", events);
        jobs.setLength(0);
        events.setLength(0);
    }

    private static void copy(Connection db, String table, StringBuilder rows) throws SQLException, IOException {
        if (rows.isEmpty()) {
            return;
        }
        // PostgreSQL's COPY API, by reflection: the driver is a runtime dependency only
        try {
            Object connection = db.unwrap(Class.forName("org.postgresql.PGConnection"));
            Object api = connection.getClass().getMethod("getCopyAPI").invoke(connection);
            api.getClass().getMethod("copyIn", String.class, java.io.Reader.class).invoke(api,
                    "copy " + table + " from stdin with (format csv)", new StringReader(rows.toString()));
        } catch (ReflectiveOperationException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new SQLException("COPY into " + table + " failed: " + cause, cause);
        }
    }

    /** One CSV line: null as an empty field, everything else quoted. */
    private static String csv(Object... values) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                line.append(',');
            }
            if (values[i] != null) {
                line.append('"').append(values[i].toString().replace("\"", "\"\"")).append('"');
            }
        }
        return line.toString();
    }
}
