package io.ferry.control.system;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.intercept.AuthorizationFilter;
import org.springframework.security.web.authentication.LoginUrlAuthenticationEntryPoint;
import org.springframework.security.web.context.HttpSessionSecurityContextRepository;
import org.springframework.security.web.header.writers.ReferrerPolicyHeaderWriter;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The web console ({@code /}, {@code /console/**} and the scripts it loads from
 * {@code /webjars/**}), apart from the API: a session cookie after signing in with an API token
 * (the API itself stays stateless, bearer only), CSRF tokens on every form and htmx request, and
 * the same roles as the API, enforced here for every console path whatever the page shows: a
 * viewer reads every page, an operator also acts on guests, jobs and hosts, an admin also edits
 * policies and limits. Console writes go to the audit log like API writes.
 */
@Configuration
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class ConsoleSecurityConfig {

    /** Console writes that change the cluster's rules: admin, as their API operations. */
    static final String[] ADMIN_WRITES = {"/console/policies", "/console/policies/**", "/console/admission/**",
            "/console/migrations/*/abandon"};

    @Bean
    @Order(2)
    SecurityFilterChain consoleChain(HttpSecurity http, ConsoleCallers callers) throws Exception {
        HttpSessionSecurityContextRepository contexts = new HttpSessionSecurityContextRepository();
        http.securityMatcher("/", "/console", "/console/**", "/webjars/**")
                .securityContext(c -> c.securityContextRepository(contexts))
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.IF_REQUIRED)
                        .sessionFixation(f -> f.changeSessionId()))
                .httpBasic(b -> b.disable())
                .formLogin(f -> f.disable())
                .headers(h -> h
                        // every script and style comes from this server (WebJars and the console's own)
                        .contentSecurityPolicy(csp -> csp.policyDirectives("default-src 'self'; script-src 'self'; "
                                + "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                                + "form-action 'self'; frame-ancestors 'none'; base-uri 'self'"))
                        .referrerPolicy(r -> r.policy(ReferrerPolicyHeaderWriter.ReferrerPolicy.SAME_ORIGIN)))
                .logout(l -> l.logoutUrl("/console/logout").logoutSuccessUrl("/console/login?signedOut")
                        .deleteCookies("JSESSIONID"))
                .addFilterBefore(new RevokedSessionFilter(callers), AuthorizationFilter.class)
                .addFilterBefore(new SecurityConfig.CallerRecorder(), AuthorizationFilter.class)
                .authorizeHttpRequests(auth -> auth
                        .requestMatchers(HttpMethod.GET, "/", "/console/login", "/console/assets/**", "/webjars/**")
                        .permitAll()
                        .requestMatchers(HttpMethod.POST, "/console/login").permitAll()
                        .requestMatchers(HttpMethod.POST, ADMIN_WRITES).hasAuthority(Role.ADMIN.authority())
                        .requestMatchers(HttpMethod.POST, "/console/**").hasAuthority(Role.OPERATOR.authority())
                        .requestMatchers(HttpMethod.GET, "/console", "/console/**").hasAuthority(Role.VIEWER.authority())
                        .anyRequest().denyAll())
                .exceptionHandling(e -> e
                        .defaultAuthenticationEntryPointFor((req, res, ex) -> refuse(res, HttpStatus.UNAUTHORIZED,
                                        "Your console session has ended: sign in again."),
                                req -> req.getHeader("HX-Request") != null || "POST".equals(req.getMethod()))
                        .defaultAuthenticationEntryPointFor(new LoginUrlAuthenticationEntryPoint("/console/login"),
                                req -> true)
                        .accessDeniedHandler((req, res, ex) -> refuse(res, HttpStatus.FORBIDDEN,
                                "Refused: your role may not do this (" + req.getMethod() + " " + req.getRequestURI()
                                        + "). A viewer reads; an operator moves guests; an admin edits policies "
                                        + "and limits.")));
        return http.build();
    }

    /** A plain sentence the console shows where the action's answer would go (htmx swaps it in). */
    private static void refuse(HttpServletResponse res, HttpStatus status, String text) throws IOException {
        res.setStatus(status.value());
        res.setContentType(MediaType.TEXT_HTML_VALUE + ";charset=UTF-8");
        res.getWriter().write("<p class=\"alert error\" role=\"alert\">" + org.springframework.web.util.HtmlUtils
                .htmlEscape(text) + "</p>");
    }

    /** Signs a session out at its next request once the token it signed in with is revoked. */
    static final class RevokedSessionFilter extends OncePerRequestFilter {

        private final ConsoleCallers callers;

        RevokedSessionFilter(ConsoleCallers callers) {
            this.callers = callers;
        }

        @Override
        protected boolean shouldNotFilterAsyncDispatch() {
            return false;
        }

        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            ConsoleCallers.of(SecurityContextHolder.getContext().getAuthentication()).ifPresent(caller -> {
                if (!callers.stillValid(caller)) {
                    SecurityContextHolder.clearContext();
                    HttpSession session = request.getSession(false);
                    if (session != null) {
                        session.invalidate();
                    }
                }
            });
            chain.doFilter(request, response);
        }
    }
}
