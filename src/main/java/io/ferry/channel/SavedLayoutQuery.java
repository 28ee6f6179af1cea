package io.ferry.channel;

/**
 * Control plane → worker: read the layout of the guest saved in {@code restoreFrom} (a path
 * relative to the worker's datastore) without restoring it; answered with a {@link SavedLayoutReport}.
 */
public record SavedLayoutQuery(String restoreFrom) {
}
