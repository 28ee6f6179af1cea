package io.ferry.channel;

/**
 * Control plane → worker, the answer to a registration: the worker's own credential for
 * {@code hostId}. It is shown this once (the control plane keeps only its hash) and replaces any
 * earlier one; the worker sends it as its bearer token on every further request to any
 * control-plane replica, until a request is answered 401 (revoked, or replaced by a newer
 * registration), when it registers again with the bootstrap token.
 */
public record WorkerCredential(String hostId, String credential) {

    @Override
    public String toString() {
        return "WorkerCredential[hostId=" + hostId + ", credential=(hidden)]";
    }
}
