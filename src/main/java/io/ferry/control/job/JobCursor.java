package io.ferry.control.job;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.UUID;

/**
 * Where a job list stopped: the last job's {@code createdAt} and id, the list's sort key. The
 * next page is the jobs strictly after it in (createdAt desc, id desc) order, found by an index
 * range scan however deep the page is.
 *
 * <p>On the wire it is opaque: base64url (no padding) of {@code <epoch micros>:<uuid>}. Micros,
 * because the column holds six fractional digits: a cursor made from an instant read before it
 * was stored still names the stored value.
 */
public record JobCursor(Instant createdAt, UUID id) {

    public JobCursor {
        createdAt = createdAt.truncatedTo(ChronoUnit.MICROS);
    }

    static JobCursor after(MigrationJob job) {
        return new JobCursor(job.createdAt(), job.id());
    }

    public String encode() {
        long micros = ChronoUnit.MICROS.between(Instant.EPOCH, createdAt);
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString((micros + ":" + id).getBytes(StandardCharsets.US_ASCII));
    }

    /** The cursor a list answered with as {@code next}; throws {@link IllegalArgumentException} for anything else. */
    public static JobCursor decode(String text) {
        String plain;
        try {
            plain = new String(Base64.getUrlDecoder().decode(text), StandardCharsets.US_ASCII);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a cursor this API gave out (not base64url)");
        }
        int colon = plain.indexOf(':');
        try {
            if (colon < 1) {
                throw new IllegalArgumentException("no separator");
            }
            long micros = Long.parseLong(plain.substring(0, colon));
            UUID id = UUID.fromString(plain.substring(colon + 1));
            if (!id.toString().equals(plain.substring(colon + 1))) {
                throw new IllegalArgumentException("not a canonical UUID");
            }
            return new JobCursor(Instant.EPOCH.plus(micros, ChronoUnit.MICROS), id);
        } catch (RuntimeException e) {   // NumberFormatException, DateTimeException, ArithmeticException
            throw new IllegalArgumentException("not a cursor this API gave out");
        }
    }
}
