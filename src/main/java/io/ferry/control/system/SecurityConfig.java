package io.ferry.control.system;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.config.annotation.web.configurers.AuthorizeHttpRequestsConfigurer;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;
import org.springframework.security.web.access.intercept.AuthorizationFilter;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Bearer credentials only: API tokens (the bootstrap token and named tokens, each with a
 * {@link Role}) and, when configured, OAuth2/OIDC JWTs for /api/**, with the role of each
 * operation from {@link ApiRoles}; the worker token for the control channel (/internal/**).
 * Health and Prometheus endpoints stay open for probes and scrapers.
 */
@Configuration
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class SecurityConfig {

    private static final Logger log = LoggerFactory.getLogger(SecurityConfig.class);
    static final String WORKER = "WORKER";
    /** Holds the shared worker token: may register (and so get a credential of its own), nothing else. */
    static final String WORKER_BOOTSTRAP = "WORKER_BOOTSTRAP";

    /**
     * The control channel (/internal/**), ahead of the API's chain. The shared worker token is a
     * bootstrap credential only: with it a worker may register, which hands it a credential of
     * its own; every other request needs that per-worker credential, and the controllers check
     * that the host it names is the host the request is about. Refusals are logged with the
     * caller's address (no token, no query string).
     */
    @Bean
    @Order(1)
    SecurityFilterChain workerChannel(HttpSecurity http, AccessTokens tokens, WorkerCredentialLookup credentials)
            throws Exception {
        http.securityMatcher("/internal/**")
                .csrf(csrf -> csrf.disable())
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .httpBasic(b -> b.disable())
                .formLogin(f -> f.disable())
                .addFilterBefore(new WorkerCredentialFilter(tokens, credentials), AnonymousAuthenticationFilter.class)
                .authorizeHttpRequests(auth -> auth
                        .requestMatchers(HttpMethod.PUT, "/internal/v1/workers/*")
                        .hasAnyAuthority(WORKER_BOOTSTRAP, WORKER)
                        .anyRequest().hasAuthority(WORKER))
                .exceptionHandling(e -> e
                        .authenticationEntryPoint((req, res, ex) -> {
                            log.warn("control channel: refused {} {} from {}: no valid worker credential",
                                    req.getMethod(), req.getRequestURI(), req.getRemoteAddr());
                            problem(res, HttpStatus.UNAUTHORIZED, "Unauthorized", "no valid worker credential: "
                                    + "register with the bootstrap token to get one");
                        })
                        .accessDeniedHandler((req, res, ex) -> {
                            log.warn("control channel: refused {} {} from {}: the bootstrap token may only register",
                                    req.getMethod(), req.getRequestURI(), req.getRemoteAddr());
                            problem(res, HttpStatus.FORBIDDEN, "Forbidden", "the bootstrap token may only register; "
                                    + "use the worker credential the registration returned");
                        }));
        return http.build();
    }

    @Bean
    SecurityFilterChain filterChain(HttpSecurity http, AccessTokens tokens, ApiTokens apiTokens, JwtSettings jwt)
            throws Exception {
        http.csrf(csrf -> csrf.disable())
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .httpBasic(b -> b.disable())
                .formLogin(f -> f.disable())
                .addFilterBefore(new BearerTokenFilter(tokens, apiTokens, jwt.enabled()),
                        AnonymousAuthenticationFilter.class)
                .addFilterBefore(new CallerRecorder(), AuthorizationFilter.class)
                .authorizeHttpRequests(auth -> {
                    auth.requestMatchers("/actuator/health", "/actuator/health/**", "/actuator/info",
                                    "/actuator/prometheus", "/error").permitAll()
                            .requestMatchers("/internal/**").hasAuthority(WORKER);
                    authorizeApi(auth);
                    auth.anyRequest().denyAll();
                })
                .exceptionHandling(e -> e
                        .authenticationEntryPoint((req, res, ex) -> problem(res, HttpStatus.UNAUTHORIZED,
                                "Unauthorized", "send 'Authorization: Bearer <token>'; the embedded control plane "
                                        + "keeps its API token in <data-dir>/api-token"))
                        .accessDeniedHandler((req, res, ex) -> problem(res, HttpStatus.FORBIDDEN, "Forbidden",
                                "this token may not use " + req.getRequestURI())));
        jwtBearer(http, jwt);
        return http.build();
    }

    /** /api/**: the role each operation needs ({@link ApiRoles}); a request under /api matching no rule needs admin. */
    private static void authorizeApi(
            AuthorizeHttpRequestsConfigurer<HttpSecurity>.AuthorizationManagerRequestMatcherRegistry auth) {
        for (ApiRoles.Rule rule : ApiRoles.RULES) {
            auth.requestMatchers(rule.method(), rule.pattern()).hasAuthority(rule.role().authority());
        }
        auth.requestMatchers("/api/**").hasAuthority(ApiRoles.OTHERWISE.authority());
    }

    /**
     * OAuth2/OIDC bearer JWTs beside the API tokens, when configured ({@link JwtSettings}): a
     * bearer credential shaped like a JWT goes to Spring Security's resource server, any other to
     * {@link BearerTokenFilter}. A JWT that fails (signature, expiry, issuer, audience) is a 401.
     */
    private static void jwtBearer(HttpSecurity http, JwtSettings jwt) throws Exception {
        if (!jwt.enabled()) {
            return;
        }
        http.oauth2ResourceServer(o -> o
                .bearerTokenResolver(request -> {
                    // the header only (no query or form tokens), and only a JWT: the rest is BearerTokenFilter's
                    String header = request.getHeader("Authorization");
                    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
                        return null;
                    }
                    String token = header.substring(7).strip();
                    return JwtBearer.looksLikeJwt(token) ? token : null;
                })
                .authenticationEntryPoint((req, res, ex) -> problem(res, HttpStatus.UNAUTHORIZED, "Unauthorized",
                        "the bearer JWT was refused: " + printable(ex.getMessage())))
                .jwt(j -> j.decoder(JwtBearer.decoder(jwt)).jwtAuthenticationConverter(JwtBearer.converter(jwt))));
    }

    private static String printable(String text) {
        if (text == null) {
            return "";
        }
        String clean = text.replaceAll("[^\\x20-\\x7e]", " ").replace('\\', '/');
        return clean.length() > 300 ? clean.substring(0, 300) : clean;
    }

    private static void problem(HttpServletResponse res, HttpStatus status, String title, String detail)
            throws IOException {
        res.setStatus(status.value());
        res.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        if (status == HttpStatus.UNAUTHORIZED) {
            res.setHeader("WWW-Authenticate", "Bearer");
        }
        res.getWriter().write("{\"type\":\"about:blank\",\"title\":\"" + title + "\",\"status\":" + status.value()
                + ",\"detail\":\"" + detail.replace("\"", "'") + "\"}");
    }

    /**
     * On the control channel: a host's current credential makes the request that host's worker;
     * the shared worker token makes it a bootstrap caller. Anything else stays anonymous (401).
     */
    static final class WorkerCredentialFilter extends OncePerRequestFilter {

        private final AccessTokens tokens;
        private final WorkerCredentialLookup credentials;

        WorkerCredentialFilter(AccessTokens tokens, WorkerCredentialLookup credentials) {
            this.tokens = tokens;
            this.credentials = credentials;
        }

        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            String header = request.getHeader("Authorization");
            if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
                String token = header.substring(7).strip();
                WorkerPrincipal worker = tokens.isWorkerToken(token) ? WorkerPrincipal.BOOTSTRAP
                        : credentials.hostOfCredential(token).map(WorkerPrincipal::new).orElse(null);
                if (worker != null) {
                    SecurityContextHolder.getContext().setAuthentication(UsernamePasswordAuthenticationToken
                            .authenticated(worker, null, List.of(new SimpleGrantedAuthority(
                                    worker.isBootstrap() ? WORKER_BOOTSTRAP : WORKER))));
                }
            }
            chain.doFilter(request, response);
        }
    }

    /**
     * Turns a presented bearer token into a principal: the bootstrap API token (admin, named
     * {@code bootstrap}), a named API token with its role, or the worker token. A JWT is left to
     * the resource server when JWTs are configured. A revoked token authenticates nobody; its
     * name is kept for the audit log.
     */
    static final class BearerTokenFilter extends OncePerRequestFilter {

        private final AccessTokens tokens;
        private final ApiTokens apiTokens;
        private final boolean jwtEnabled;

        BearerTokenFilter(AccessTokens tokens, ApiTokens apiTokens, boolean jwtEnabled) {
            this.tokens = tokens;
            this.apiTokens = apiTokens;
            this.jwtEnabled = jwtEnabled;
        }

        /** A stream (SSE) ends in an async dispatch, which must be authorised like the request itself. */
        @Override
        protected boolean shouldNotFilterAsyncDispatch() {
            return false;
        }

        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            String header = request.getHeader("Authorization");
            if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
                String token = header.substring(7).strip();
                if (!(jwtEnabled && JwtBearer.looksLikeJwt(token))) {
                    authenticate(request, token);
                }
            }
            chain.doFilter(request, response);
        }

        private void authenticate(HttpServletRequest request, String token) {
            if (tokens.isApiToken(token)) {
                signIn(ApiTokens.BOOTSTRAP, Role.ADMIN.grantedAuthorities(), AuditFilter.BOOTSTRAP);
            } else if (tokens.isWorkerToken(token)) {
                signIn("worker", List.of(new SimpleGrantedAuthority(WORKER)), AuditFilter.WORKER);
            } else {
                apiTokens.lookup(token).ifPresent(t -> {
                    if (t.revoked()) {
                        request.setAttribute(AuditFilter.ACTOR, t.name());
                        request.setAttribute(AuditFilter.CREDENTIAL, AuditFilter.TOKEN);
                    } else {
                        signIn(t.name(), t.role().grantedAuthorities(), AuditFilter.TOKEN);
                    }
                });
            }
        }

        private static void signIn(String name, List<GrantedAuthority> authorities, String credential) {
            UsernamePasswordAuthenticationToken authentication =
                    UsernamePasswordAuthenticationToken.authenticated(name, null, authorities);
            authentication.setDetails(credential);
            SecurityContextHolder.getContext().setAuthentication(authentication);
        }
    }

    /**
     * Leaves who the caller is, once authenticated (token or JWT), on the request for the
     * {@link AuditFilter}, which runs outside Spring Security and finds the context cleared.
     */
    static final class CallerRecorder extends OncePerRequestFilter {

        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            Authentication caller = SecurityContextHolder.getContext().getAuthentication();
            if (caller != null && caller.isAuthenticated() && !(caller instanceof AnonymousAuthenticationToken)) {
                request.setAttribute(AuditFilter.ACTOR, caller.getName());
                request.setAttribute(AuditFilter.CREDENTIAL, caller instanceof JwtAuthenticationToken
                        ? AuditFilter.JWT : String.valueOf(caller.getDetails()));
                Role role = Role.of(caller.getAuthorities());
                if (role != null) {
                    request.setAttribute(AuditFilter.ROLE, role.apiName());
                }
            }
            chain.doFilter(request, response);
        }
    }
}
