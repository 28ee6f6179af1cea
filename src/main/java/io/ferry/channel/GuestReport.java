package io.ferry.channel;

import java.util.UUID;

/** A worker's word on one guest it hosts; {@code state} uses the API spelling (running, paused, …). */
public record GuestReport(UUID guestId, String state, long memoryBytes) {
}
