package io.ferry.control.idempotency;

/**
 * A client's Idempotency-Key for one kind of resource, with a fingerprint of the request
 * body so a key reused for a different request is refused instead of answered wrongly.
 */
public record IdempotencyKey(String scope, String key, String fingerprint) {
}
