package io.ferry.control.system;

import java.util.List;
import org.springframework.http.HttpMethod;

/**
 * The role each operation of /api/v1 needs, in one table (openapi.yaml declares the same as
 * {@code x-ferry-role} on every operation; the role test checks the two against each other on
 * a running control plane). Rules are tried in order. Every read needs {@code viewer} unless
 * listed; a write not listed needs {@code admin}, so an operation added without a rule is
 * closed rather than open.
 */
final class ApiRoles {

    record Rule(HttpMethod method, String pattern, Role role) {
    }

    static final List<Rule> RULES = List.of(
            // credentials and the audit log: admin only, reads included
            new Rule(HttpMethod.GET, "/api/v1/tokens", Role.ADMIN),
            new Rule(HttpMethod.GET, "/api/v1/tokens/*", Role.ADMIN),
            new Rule(HttpMethod.POST, "/api/v1/tokens", Role.ADMIN),
            new Rule(HttpMethod.DELETE, "/api/v1/tokens/*", Role.ADMIN),
            new Rule(HttpMethod.GET, "/api/v1/audit", Role.ADMIN),
            // the cluster's rules: policies, limits, host labels (policies select on them), webhooks
            // (they send every event to a URL of the caller's choosing)
            new Rule(HttpMethod.POST, "/api/v1/policies", Role.ADMIN),
            new Rule(HttpMethod.PUT, "/api/v1/policies/*", Role.ADMIN),
            new Rule(HttpMethod.DELETE, "/api/v1/policies/*", Role.ADMIN),
            new Rule(HttpMethod.PUT, "/api/v1/admission/limits", Role.ADMIN),
            new Rule(HttpMethod.PUT, "/api/v1/hosts/*/limits", Role.ADMIN),
            new Rule(HttpMethod.PUT, "/api/v1/hosts/*/labels", Role.ADMIN),
            // a worker's own credential (worker identity): revoking it, or keeping a host out
            new Rule(HttpMethod.POST, "/api/v1/hosts/*/revoke-credential", Role.ADMIN),
            new Rule(HttpMethod.POST, "/api/v1/subscriptions", Role.ADMIN),
            new Rule(HttpMethod.DELETE, "/api/v1/subscriptions/*", Role.ADMIN),
            // gives up one half of a guest: a human decision
            new Rule(HttpMethod.POST, "/api/v1/migrations/*/abandon", Role.ADMIN),
            // moving guests
            new Rule(HttpMethod.POST, "/api/v1/guests", Role.OPERATOR),
            new Rule(HttpMethod.DELETE, "/api/v1/guests/*", Role.OPERATOR),
            new Rule(HttpMethod.PUT, "/api/v1/guests/*/labels", Role.OPERATOR),
            new Rule(HttpMethod.POST, "/api/v1/guests/*/pause", Role.OPERATOR),
            new Rule(HttpMethod.POST, "/api/v1/guests/*/resume", Role.OPERATOR),
            // pauses the guest and writes a file into its host's datastore
            new Rule(HttpMethod.POST, "/api/v1/guests/*/save", Role.OPERATOR),
            // runs on the guest's worker for the window (and, in dirty-bitmap mode, logs its writes)
            new Rule(HttpMethod.POST, "/api/v1/guests/*/dirty-rate", Role.OPERATOR),
            new Rule(HttpMethod.POST, "/api/v1/migrations", Role.OPERATOR),
            // measures the guest's dirty rate on its worker
            new Rule(HttpMethod.POST, "/api/v1/migrations/preflight", Role.OPERATOR),
            new Rule(HttpMethod.PATCH, "/api/v1/migrations/*", Role.OPERATOR),
            new Rule(HttpMethod.POST, "/api/v1/migrations/*/cancel", Role.OPERATOR),
            new Rule(HttpMethod.POST, "/api/v1/migrations/*/postcopy", Role.OPERATOR),
            new Rule(HttpMethod.POST, "/api/v1/migrations/*/recover", Role.OPERATOR),
            new Rule(HttpMethod.POST, "/api/v1/migrations/*/force-complete", Role.OPERATOR),
            new Rule(HttpMethod.POST, "/api/v1/hosts/*/drain", Role.OPERATOR),
            new Rule(HttpMethod.DELETE, "/api/v1/hosts/*/drain", Role.OPERATOR),
            // everything else that reads
            new Rule(HttpMethod.GET, "/api/**", Role.VIEWER),
            new Rule(HttpMethod.HEAD, "/api/**", Role.VIEWER));

    /** What a request under /api matching no rule needs. */
    static final Role OTHERWISE = Role.ADMIN;

    private ApiRoles() {
    }
}
