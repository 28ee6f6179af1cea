package io.ferry.control.system;

import java.security.Principal;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;

/** How job timelines, ownership records and the audit log name whoever called the API. */
public final class Callers {

    private Callers() {
    }

    /** {@code api:<token name>} for an API token ({@code api:bootstrap} for the configured one), {@code jwt:<subject>} for a JWT. */
    public static String actor(Principal principal) {
        if (principal == null) {
            return "api:anonymous";
        }
        return (principal instanceof JwtAuthenticationToken ? "jwt:" : "api:") + principal.getName();
    }
}
