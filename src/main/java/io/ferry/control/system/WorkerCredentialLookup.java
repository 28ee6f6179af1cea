package io.ferry.control.system;

import java.util.Optional;

/**
 * Finds the host a presented per-worker credential belongs to (implemented by the host
 * registry; here so that security need not know the registry).
 */
public interface WorkerCredentialLookup {

    /** The id of the host whose current credential this is; empty for anything else. */
    Optional<String> hostOfCredential(String presented);
}
