package io.ferry.control.system;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * OAuth2/OIDC bearer JWTs ({@code ferry.auth.jwt.*}). Off unless a JWK set URI or an issuer is
 * configured: with {@code jwk-set-uri} the keys come from there (and {@code issuer-uri}, when
 * also set, must be the token's {@code iss}); with {@code issuer-uri} alone they are found
 * through the issuer's OpenID discovery document. {@code audience}, when set, must be among
 * the token's {@code aud}. The role is the highest of the values of {@code roles-claim}
 * (a dotted path into nested objects, e.g. {@code realm_access.roles}; a list or a
 * space/comma-separated string) that name one; the caller is {@code principal-claim}.
 */
@ConfigurationProperties("ferry.auth.jwt")
record JwtSettings(@DefaultValue("") String jwkSetUri, @DefaultValue("") String issuerUri,
                   @DefaultValue("") String audience, @DefaultValue("roles") String rolesClaim,
                   @DefaultValue("sub") String principalClaim) {

    JwtSettings {
        jwkSetUri = jwkSetUri == null ? "" : jwkSetUri.strip();
        issuerUri = issuerUri == null ? "" : issuerUri.strip();
        audience = audience == null ? "" : audience.strip();
        rolesClaim = rolesClaim == null || rolesClaim.isBlank() ? "roles" : rolesClaim.strip();
        principalClaim = principalClaim == null || principalClaim.isBlank() ? "sub" : principalClaim.strip();
    }

    boolean enabled() {
        return !jwkSetUri.isBlank() || !issuerUri.isBlank();
    }
}
