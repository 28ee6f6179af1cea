package io.ferry.channel;

/**
 * Control plane → worker: write the guest to a new file under the datastore's {@code saves/}
 * ({@code format} null: {@link SaveFormat#FERRY}). A running guest is paused for it and stays paused.
 */
public record SaveGuestCommand(SaveFormat format) {
}
