package io.ferry.channel;

import java.util.UUID;

/**
 * A worker's word on one guest it hosts.
 * {@code stateSeq} grows with every state change on the worker, so a report that was overtaken
 * by a later command's reply is recognised as stale. {@code workerInstance} names the worker
 * process holding the guest's memory: when it changes, that memory is gone. {@code failure} says
 * why a {@link ReportedGuestState#FAILED failed} guest ended (null otherwise).
 */
public record GuestReport(UUID guestId, ReportedGuestState state, long memoryBytes, long stateSeq, String workerInstance,
                          String failure) {

    /** A guest that has not failed. */
    public GuestReport(UUID guestId, ReportedGuestState state, long memoryBytes, long stateSeq, String workerInstance) {
        this(guestId, state, memoryBytes, stateSeq, workerInstance, null);
    }
}
