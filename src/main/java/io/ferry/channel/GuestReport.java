package io.ferry.channel;

import java.util.UUID;

/**
 * A worker's word on one guest it hosts.
 * {@code stateSeq} grows with every state change on the worker, so a report that was overtaken
 * by a later command's reply is recognised as stale. {@code workerInstance} names the worker
 * process holding the guest's memory: when it changes, that memory is gone.
 */
public record GuestReport(UUID guestId, ReportedGuestState state, long memoryBytes, long stateSeq, String workerInstance) {
}
