package io.ferry.control.idempotency;

import java.time.Clock;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

/**
 * Makes a create request safe to retry. The record is written first inside the creating
 * transaction ({@link #remember}), so a resource and its key commit together and two racing
 * retries collide on the key's primary key before doing anything else; the loser answers with
 * the winner's resource.
 */
@Service
public class IdempotencyService {

    private final IdempotencyRecordRepository records;
    private final Clock clock;

    IdempotencyService(IdempotencyRecordRepository records, Clock clock) {
        this.records = records;
        this.clock = clock;
    }

    /**
     * Returns the id of the resource this key already created, or runs {@code create}.
     * {@code create} must call {@link #remember} in its own transaction.
     */
    public UUID once(IdempotencyKey key, Supplier<UUID> create) {
        if (key == null) {
            return create.get();
        }
        Optional<UUID> earlier = lookup(key);
        if (earlier.isPresent()) {
            return earlier.get();
        }
        try {
            return create.get();
        } catch (RuntimeException e) {
            // A concurrent request with the same key may have won (its insert made ours collide).
            Optional<UUID> winner = lookup(key);
            if (winner.isPresent()) {
                return winner.get();
            }
            throw e;
        }
    }

    @Transactional(readOnly = true)
    public Optional<UUID> lookup(IdempotencyKey key) {
        return records.findById(new IdempotencyRecord.Key(key.scope(), key.key())).map(r -> {
            if (!r.requestFingerprint().equals(key.fingerprint())) {
                throw new IdempotencyKeyReusedException(key.key());
            }
            return r.resourceId();
        });
    }

    @Transactional(propagation = Propagation.MANDATORY)
    public void remember(IdempotencyKey key, UUID resourceId) {
        if (key != null) {
            records.saveAndFlush(new IdempotencyRecord(key, resourceId, clock.instant()));
        }
    }
}
