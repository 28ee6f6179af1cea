package io.ferry.control.system;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Records every state-changing request to /api/v1 (POST, PUT, PATCH, DELETE), and every action
 * of the web console (its POSTs under /console/, with the console path as target), in the
 * {@link AuditLog} once it is answered, refused ones (401, 403, 4xx) included. It runs before
 * Spring Security's filter chain, so it sees the answer that chain gives (the 401s and 403s);
 * who the caller was comes from request attributes the chain leaves ({@code CallerRecorder},
 * and {@code BearerTokenFilter} for a revoked token).
 */
final class AuditFilter extends OncePerRequestFilter {

    static final String ACTOR = AuditFilter.class.getName() + ".actor";
    static final String ROLE = AuditFilter.class.getName() + ".role";
    static final String CREDENTIAL = AuditFilter.class.getName() + ".credential";

    /** Credential kinds, as the audit log spells them. */
    static final String BOOTSTRAP = "bootstrap";
    static final String TOKEN = "token";
    static final String JWT = "jwt";
    static final String WORKER = "worker";
    static final String NONE = "none";

    private static final Logger log = LoggerFactory.getLogger(AuditFilter.class);
    private static final Set<String> WRITES = Set.of("POST", "PUT", "PATCH", "DELETE");
    private static final String API = "/api/v1/";

    private final AuditLog audit;
    private final Clock clock;

    AuditFilter(AuditLog audit, Clock clock) {
        this.audit = audit;
        this.clock = clock;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String uri = request.getRequestURI();
        // the console's actions too: they are the same operations, taken through a session
        return !WRITES.contains(request.getMethod()) || !(uri.startsWith("/api/") || uri.startsWith("/console/"));
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        int status = 500;
        try {
            chain.doFilter(request, response);
            status = response.getStatus();
        } finally {
            record(request, response, status);
        }
    }

    private void record(HttpServletRequest request, HttpServletResponse response, int status) {
        try {
            String path = request.getRequestURI();
            Object actor = request.getAttribute(ACTOR);
            Object credential = request.getAttribute(CREDENTIAL);
            Object role = request.getAttribute(ROLE);
            audit.record(new AuditLog.Entry(null, clock.instant(), actor == null ? null : actor.toString(),
                    credential == null ? NONE : credential.toString(), role == null ? null : role.toString(),
                    request.getMethod(), path, target(path, status, response.getHeader("Location")),
                    request.getRemoteAddr(), status, AuditLog.Outcome.of(status)));
        } catch (RuntimeException e) {
            // the request has been answered; a lost audit row is logged, never turned into a failure
            log.error("audit: could not record {} {} ({}): {}", request.getMethod(), request.getRequestURI(), status,
                    e.toString());
        }
    }

    /**
     * What the request acted on, as a path below /api/v1/: the created resource for a create
     * (its {@code Location}), else the request's path ({@code migrations/<id>/cancel}).
     */
    static String target(String path, int status, String location) {
        String target = path;
        if (location != null && status >= 200 && status < 300) {
            try {
                String created = URI.create(location).getPath();
                if (created != null && created.startsWith(API)) {
                    target = created;
                }
            } catch (IllegalArgumentException ignored) {
                // not a URI: keep the path
            }
        }
        return target.startsWith(API) ? target.substring(API.length()) : target;
    }
}
