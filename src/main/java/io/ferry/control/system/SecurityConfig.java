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
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Bearer tokens only: the API token for /api/**, the worker token for the control channel
 * (/internal/**). Health and Prometheus endpoints stay open for probes and scrapers.
 */
@Configuration
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class SecurityConfig {

    private static final Logger log = LoggerFactory.getLogger(SecurityConfig.class);

    static final String API = "API";
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
    SecurityFilterChain filterChain(HttpSecurity http, AccessTokens tokens) throws Exception {
        http.csrf(csrf -> csrf.disable())
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .httpBasic(b -> b.disable())
                .formLogin(f -> f.disable())
                .addFilterBefore(new BearerTokenFilter(tokens), AnonymousAuthenticationFilter.class)
                .authorizeHttpRequests(auth -> auth
                        .requestMatchers("/actuator/health", "/actuator/health/**", "/actuator/info",
                                "/actuator/prometheus", "/error").permitAll()
                        .requestMatchers("/internal/**").hasAuthority(WORKER)
                        .requestMatchers("/api/**").hasAuthority(API)
                        .anyRequest().denyAll())
                .exceptionHandling(e -> e
                        .authenticationEntryPoint((req, res, ex) -> problem(res, HttpStatus.UNAUTHORIZED,
                                "Unauthorized", "send 'Authorization: Bearer <token>'; the embedded control plane "
                                        + "keeps its API token in <data-dir>/api-token"))
                        .accessDeniedHandler((req, res, ex) -> problem(res, HttpStatus.FORBIDDEN, "Forbidden",
                                "this token may not use " + req.getRequestURI())));
        return http.build();
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

    /** Turns a presented bearer token into one of the two principals. */
    static final class BearerTokenFilter extends OncePerRequestFilter {

        private final AccessTokens tokens;

        BearerTokenFilter(AccessTokens tokens) {
            this.tokens = tokens;
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
                String role = tokens.isApiToken(token) ? API : tokens.isWorkerToken(token) ? WORKER : null;
                if (role != null) {
                    SecurityContextHolder.getContext().setAuthentication(UsernamePasswordAuthenticationToken
                            .authenticated(role.equals(API) ? "operator" : "worker", null,
                                    List.of(new SimpleGrantedAuthority(role))));
                }
            }
            chain.doFilter(request, response);
        }
    }
}
