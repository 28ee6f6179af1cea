package io.ferry.control.system;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.springframework.core.convert.converter.Converter;
import org.springframework.security.authentication.AbstractAuthenticationToken;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtClaimNames;
import org.springframework.security.oauth2.jwt.JwtClaimValidator;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtValidators;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;

/** Turns the {@link JwtSettings} into a decoder and the claims of a valid JWT into a caller with a role. */
final class JwtBearer {

    private JwtBearer() {
    }

    private static final java.util.regex.Pattern COMPACT_JWS =
            java.util.regex.Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+");

    /**
     * A bearer credential that is a JWS in compact form (three non-empty base64url parts joined
     * by dots); anything else is an API token (Ferry's never contain a dot).
     */
    static boolean looksLikeJwt(String token) {
        return token.length() <= 16_384 && COMPACT_JWS.matcher(token).matches();
    }

    static JwtDecoder decoder(JwtSettings settings) {
        NimbusJwtDecoder decoder = settings.jwkSetUri().isBlank()
                ? NimbusJwtDecoder.withIssuerLocation(settings.issuerUri()).build()
                : NimbusJwtDecoder.withJwkSetUri(settings.jwkSetUri()).build();
        List<OAuth2TokenValidator<Jwt>> validators = new ArrayList<>();
        validators.add(settings.issuerUri().isBlank() ? JwtValidators.createDefault()
                : JwtValidators.createDefaultWithIssuer(settings.issuerUri()));
        if (!settings.audience().isBlank()) {
            validators.add(new JwtClaimValidator<List<String>>(JwtClaimNames.AUD,
                    aud -> aud != null && aud.contains(settings.audience())));
        }
        decoder.setJwtValidator(new DelegatingOAuth2TokenValidator<>(validators));
        return decoder;
    }

    /** A valid JWT's caller: named by the principal claim, holding the highest role its roles claim names (or none). */
    static Converter<Jwt, AbstractAuthenticationToken> converter(JwtSettings settings) {
        return jwt -> {
            Role role = role(jwt.getClaims(), settings.rolesClaim());
            String name = jwt.getClaimAsString(settings.principalClaim());
            return new JwtAuthenticationToken(jwt, role == null ? List.of() : role.grantedAuthorities(),
                    name == null ? jwt.getSubject() : name);
        };
    }

    static Role role(Map<String, ?> claims, String path) {
        Object value = claims;
        for (String part : path.split("\\.")) {
            value = value instanceof Map<?, ?> map ? map.get(part) : null;
        }
        List<String> names = new ArrayList<>();
        if (value instanceof Collection<?> values) {
            values.forEach(v -> names.add(String.valueOf(v)));
        } else if (value instanceof String text) {
            names.addAll(List.of(text.split("[\\s,]+")));
        }
        Role highest = null;
        for (String name : names) {
            Role r = Role.fromClaim(name);
            if (r != null && (highest == null || r.includes(highest))) {
                highest = r;
            }
        }
        return highest;
    }
}
