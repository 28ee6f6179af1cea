package io.ferry.channel;

import java.util.UUID;

/**
 * Worker → control plane, the answer to an {@link AbandonCommand}: the migration {@code jobId}
 * ended on this host, which kept the guest as {@code side} ({@link #SOURCE} or
 * {@link #DESTINATION}). {@code lostPages}: pages the guest lost with the other side, now zero
 * here (always 0 on the source, which holds every page as of the switch to post-copy). {@code guest}
 * is the guest as this worker hosts it from now on, an ordinary guest. A repeated command gets
 * this same report.
 */
public record AbandonReport(UUID jobId, String side, long lostPages, GuestReport guest) {

    public static final String SOURCE = "source";
    public static final String DESTINATION = "destination";
}
