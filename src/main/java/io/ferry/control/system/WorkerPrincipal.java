package io.ferry.control.system;

import java.security.Principal;
import org.springframework.security.core.Authentication;

/**
 * Who sent a control-channel request: the worker of {@code hostId} (it presented that host's
 * credential), or, with {@code hostId} null, a holder of the bootstrap token, who may only
 * register.
 */
public record WorkerPrincipal(String hostId) implements Principal {

    static final WorkerPrincipal BOOTSTRAP = new WorkerPrincipal(null);

    public boolean isBootstrap() {
        return hostId == null;
    }

    /** As the job timeline and the logs name it. */
    @Override
    public String getName() {
        return hostId == null ? "worker-bootstrap" : "worker:" + hostId;
    }

    /** The worker behind a request that passed the control channel's security; bootstrap if none is known. */
    public static WorkerPrincipal of(Principal principal) {
        if (principal instanceof Authentication auth && auth.getPrincipal() instanceof WorkerPrincipal worker) {
            return worker;
        }
        if (principal instanceof WorkerPrincipal worker) {
            return worker;
        }
        return BOOTSTRAP;
    }
}
