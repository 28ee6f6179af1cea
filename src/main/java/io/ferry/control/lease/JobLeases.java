package io.ferry.control.lease;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * One lease per running job: exactly one replica drives it (sends its commands, runs its
 * checks) while its lease lasts. Every change of a lease is a compare-and-set on the row; the
 * epoch rises with each new owner and fences the old one: {@link #fence} in a write's
 * transaction refuses it when the lease has moved on. Workers' reports and hand-off steps are
 * facts and need no lease: any replica applies them.
 */
@Component
public class JobLeases {

    private static final Logger log = LoggerFactory.getLogger(JobLeases.class);

    /** What a lease row says. */
    public record Lease(UUID jobId, String owner, long epoch, Instant expiresAt) {
    }

    private final JdbcTemplate jdbc;
    private final ReplicaIdentity me;
    private final Clock clock;
    private final Duration ttl;
    /** The jobs this replica drives, with the epoch it holds. */
    private final Map<UUID, Long> held = new ConcurrentHashMap<>();
    private final Map<UUID, Instant> since = new ConcurrentHashMap<>();
    private final Counter takeovers;

    JobLeases(JdbcTemplate jdbc, ReplicaIdentity me, Clock clock, MeterRegistry meters,
              @Value("${ferry.leases.ttl:10s}") Duration ttl) {
        this.jdbc = jdbc;
        this.me = me;
        this.clock = clock;
        this.ttl = ttl;
        this.takeovers = Counter.builder("ferry.leases.takeovers")
                .description("Job leases this replica took over from a replica that stopped renewing them")
                .register(meters);
    }

    public Duration ttl() {
        return ttl;
    }

    /** Admission: the admitting replica drives the job from its start. In the caller's transaction. */
    public void acquireNew(UUID jobId) {
        OffsetDateTime until = at(clock.instant().plus(ttl));
        int updated = jdbc.update("update job_leases set owner = ?, epoch = epoch + 1, expires_at = ? where job_id = ?",
                me.owner(), until, jobId);
        if (updated == 0) {
            jdbc.update("insert into job_leases (job_id, owner, epoch, expires_at) values (?, ?, 1, ?)",
                    jobId, me.owner(), until);
        }
        Long epoch = jdbc.queryForObject("select epoch from job_leases where job_id = ?", Long.class, jobId);
        holdAfterCommit(jobId, epoch);
    }

    /** Whether this replica drives the job now. */
    public boolean drives(UUID jobId) {
        return held.containsKey(jobId);
    }

    /**
     * Since when this replica drives the job (admission or takeover). A driver's clocks (the
     * setup timeout) count from no earlier than this: time before it was nobody's to act on.
     */
    public Instant drivenSince(UUID jobId) {
        return since.getOrDefault(jobId, Instant.EPOCH);
    }

    /** The epoch of this replica's lease on the job, 0 when it does not drive it. */
    public long epochOf(UUID jobId) {
        Long epoch = held.get(jobId);
        return epoch == null ? 0 : epoch;
    }

    /** The jobs this replica drives. */
    public Set<UUID> driven() {
        return Set.copyOf(held.keySet());
    }

    /**
     * In the caller's transaction: renews the job's lease if this replica still holds it at
     * its epoch, and otherwise refuses the write the transaction is making.
     *
     * @throws LeaseLostException when another replica took the lease over
     */
    public void fence(UUID jobId) {
        Long epoch = held.get(jobId);
        if (epoch == null) {
            throw new LeaseLostException(jobId, 0);
        }
        int renewed = jdbc.update("update job_leases set expires_at = ? where job_id = ? and owner = ? and epoch = ?",
                at(clock.instant().plus(ttl)), jobId, me.owner(), epoch);
        if (renewed == 0) {
            if (held.remove(jobId, epoch)) {
                since.remove(jobId);
            }
            log.warn("job {}: lease (epoch {}) was taken over by another replica; this replica stops driving it",
                    jobId, epoch);
            throw new LeaseLostException(jobId, epoch);
        }
    }

    /** The job ended: its lease goes, whoever held it. In the caller's transaction. */
    public void release(UUID jobId) {
        jdbc.update("delete from job_leases where job_id = ?", jobId);
        if (TransactionSynchronizationManager.isSynchronizationActive()) {
            TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                @Override
                public void afterCommit() {
                    forget(jobId);
                }
            });
        } else {
            forget(jobId);
        }
    }

    private void forget(UUID jobId) {
        held.remove(jobId);
        since.remove(jobId);
    }

    /**
     * Renews every lease this replica holds, in one statement, and forgets those another
     * replica took over meanwhile (this replica was stalled beyond the lease time).
     */
    public void renewAll() {
        Map<UUID, Long> before = new HashMap<>(held);
        jdbc.update("update job_leases set expires_at = ? where owner = ?", at(clock.instant().plus(ttl)), me.owner());
        Map<UUID, Long> mine = new HashMap<>();
        jdbc.query("select job_id, epoch from job_leases where owner = ?",
                rs -> {
                    mine.put(rs.getObject(1, UUID.class), rs.getLong(2));
                }, me.owner());
        before.forEach((jobId, epoch) -> {
            if (!epoch.equals(mine.get(jobId)) && held.remove(jobId, epoch)) {
                since.remove(jobId);
                log.warn("job {}: lease (epoch {}) is no longer this replica's; it stops driving the job", jobId, epoch);
            }
        });
    }

    /** The job's lease as stored, if it has one (a running job). */
    public java.util.Optional<Lease> current(UUID jobId) {
        return jdbc.query("select job_id, owner, epoch, expires_at from job_leases where job_id = ?",
                (rs, n) -> new Lease(rs.getObject(1, UUID.class), rs.getString(2), rs.getLong(3),
                        rs.getObject(4, OffsetDateTime.class).toInstant()), jobId).stream().findFirst();
    }

    /** The leases of these jobs as stored (a job without a row has none). */
    public Map<UUID, Lease> of(Collection<UUID> jobIds) {
        Map<UUID, Lease> leases = new HashMap<>();
        if (jobIds.isEmpty()) {
            return leases;
        }
        Set<UUID> wanted = Set.copyOf(jobIds);
        jdbc.query("select job_id, owner, epoch, expires_at from job_leases", rs -> {
            UUID id = rs.getObject(1, UUID.class);
            if (wanted.contains(id)) {
                leases.put(id, new Lease(id, rs.getString(2), rs.getLong(3),
                        rs.getObject(4, OffsetDateTime.class).toInstant()));
            }
        });
        return leases;
    }

    /**
     * Takes over, each by compare-and-set, the leases of these running jobs that nobody holds:
     * none yet (a job admitted before leases existed), expired, or left by an earlier process
     * of this replica. Returns the jobs this replica drives from now on.
     */
    public List<UUID> takeOverOrphans(Collection<UUID> runningJobIds) {
        Instant now = clock.instant();
        Map<UUID, Lease> leases = of(runningJobIds);
        List<UUID> taken = new ArrayList<>();
        for (UUID jobId : runningJobIds) {
            if (held.containsKey(jobId)) {
                continue;
            }
            Lease lease = leases.get(jobId);
            OffsetDateTime until = at(now.plus(ttl));
            long epoch;
            if (lease == null) {
                try {
                    jdbc.update("insert into job_leases (job_id, owner, epoch, expires_at) values (?, ?, 1, ?)",
                            jobId, me.owner(), until);
                } catch (DuplicateKeyException raced) {
                    continue;   // another replica (or the admission) made it meanwhile
                }
                epoch = 1;
            } else if (lease.expiresAt().isBefore(now) || me.isEarlierLifeOf(lease.owner())) {
                int won = jdbc.update("update job_leases set owner = ?, epoch = epoch + 1, expires_at = ? "
                        + "where job_id = ? and epoch = ? and owner = ?", me.owner(), until, jobId, lease.epoch(),
                        lease.owner());
                if (won == 0) {
                    continue;
                }
                epoch = lease.epoch() + 1;
            } else {
                continue;
            }
            held.put(jobId, epoch);
            since.put(jobId, now);
            taken.add(jobId);
            takeovers.increment();
            log.info("job {}: took over its lease (epoch {}) from {}", jobId, epoch,
                    lease == null ? "nobody" : lease.owner() + ", expired " + lease.expiresAt());
        }
        return taken;
    }

    private void holdAfterCommit(UUID jobId, long epoch) {
        if (TransactionSynchronizationManager.isSynchronizationActive()) {
            TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                @Override
                public void afterCommit() {
                    hold(jobId, epoch);
                }
            });
        } else {
            hold(jobId, epoch);
        }
    }

    private void hold(UUID jobId, long epoch) {
        held.put(jobId, epoch);
        since.put(jobId, clock.instant());
    }

    static OffsetDateTime at(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }
}
