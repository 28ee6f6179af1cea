package io.ferry.control.system;

import java.util.Optional;
import java.util.UUID;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.stereotype.Component;

/**
 * Who a web-console user is: the console signs in with an API token (the bootstrap token or a
 * named one) and acts with that token's role for the rest of its session. The token itself is
 * never kept in the session; a named token's id is, and a session whose token was revoked since
 * is signed out at its next request ({@link #stillValid}).
 */
@Component
public class ConsoleCallers {

    /** What a console session holds about its caller. */
    public record ConsoleCaller(String name, Role role, UUID tokenId, String credential)
            implements java.security.Principal, java.io.Serializable {

        /** The token's name, as the audit log names API callers. */
        @Override
        public String getName() {
            return name;
        }

        /** How job timelines and ownership records name this caller ({@code console:<token name>}). */
        public String actor() {
            return "console:" + name;
        }
    }

    private final AccessTokens tokens;
    private final ApiTokens apiTokens;

    ConsoleCallers(AccessTokens tokens, ApiTokens apiTokens) {
        this.tokens = tokens;
        this.apiTokens = apiTokens;
    }

    /** The caller the presented API token makes, or empty for an unknown or revoked token. */
    public Optional<ConsoleCaller> signIn(String presented) {
        if (presented == null || presented.isBlank()) {
            return Optional.empty();
        }
        String token = presented.strip();
        if (tokens.isApiToken(token)) {
            return Optional.of(new ConsoleCaller(ApiTokens.BOOTSTRAP, Role.ADMIN, null, AuditFilter.BOOTSTRAP));
        }
        return apiTokens.lookup(token).filter(t -> !t.revoked())
                .map(t -> new ConsoleCaller(t.name(), t.role(), t.id(), AuditFilter.TOKEN));
    }

    /** The Spring Security authentication a console session carries for the caller. */
    public Authentication authentication(ConsoleCaller caller) {
        UsernamePasswordAuthenticationToken authentication = UsernamePasswordAuthenticationToken.authenticated(
                caller, null, caller.role().grantedAuthorities());
        authentication.setDetails(caller.credential());
        return authentication;
    }

    /** The console caller of an authentication, or empty when it is none. */
    public static Optional<ConsoleCaller> of(Authentication authentication) {
        if (authentication != null && authentication.getPrincipal() instanceof ConsoleCaller c) {
            return Optional.of(c);
        }
        return Optional.empty();
    }

    /** False once the caller's named token is revoked (the bootstrap token cannot be). */
    boolean stillValid(ConsoleCaller caller) {
        return caller.tokenId() == null || apiTokens.find(caller.tokenId()).map(t -> !t.revoked()).orElse(false);
    }
}
