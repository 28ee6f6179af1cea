package io.ferry.it;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * An OAuth2/OIDC issuer for tests: an RSA key pair, its public half served as a JWKS on
 * loopback (com.sun.net.httpserver), and RS256 JWTs signed with it, plus a stranger's key for
 * tokens that must be refused. One per JVM; it lives as long as the test run.
 */
final class TestJwtIssuer {

    static final String AUDIENCE = "ferry";
    private static final String KEY_ID = "test-key";
    private static volatile TestJwtIssuer shared;

    private final KeyPair keys = rsa();
    private final KeyPair stranger = rsa();
    private final HttpServer server;
    private final JsonMapper json = JsonMapper.builder().build();

    private TestJwtIssuer() {
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] jwks = jwks((RSAPublicKey) keys.getPublic()).getBytes(StandardCharsets.UTF_8);
        server.createContext("/jwks", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, jwks.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(jwks);
            }
        });
        server.start();
    }

    static TestJwtIssuer shared() {
        if (shared == null) {
            synchronized (TestJwtIssuer.class) {
                if (shared == null) {
                    shared = new TestJwtIssuer();
                }
            }
        }
        return shared;
    }

    String issuer() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    String jwkSetUri() {
        return issuer() + "/jwks";
    }

    /** A valid token for {@code subject} whose {@code roles} claim holds {@code roles}. */
    String token(String subject, String... roles) {
        return sign(keys.getPrivate(), claims(subject, issuer(), AUDIENCE, Instant.now().plus(Duration.ofMinutes(5)),
                roles));
    }

    String expired(String subject, String role) {
        return sign(keys.getPrivate(), claims(subject, issuer(), AUDIENCE, Instant.now().minus(Duration.ofMinutes(5)),
                role));
    }

    String signedByStranger(String subject, String role) {
        return sign(stranger.getPrivate(), claims(subject, issuer(), AUDIENCE,
                Instant.now().plus(Duration.ofMinutes(5)), role));
    }

    String fromOtherIssuer(String subject, String role) {
        return sign(keys.getPrivate(), claims(subject, "https://other.example", AUDIENCE,
                Instant.now().plus(Duration.ofMinutes(5)), role));
    }

    String forOtherAudience(String subject, String role) {
        return sign(keys.getPrivate(), claims(subject, issuer(), "someone-else",
                Instant.now().plus(Duration.ofMinutes(5)), role));
    }

    private static Map<String, Object> claims(String subject, String issuer, String audience, Instant expires,
                                              String... roles) {
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("iss", issuer);
        claims.put("sub", subject);
        claims.put("aud", audience);
        claims.put("iat", Instant.now().getEpochSecond() - 60);
        claims.put("exp", expires.getEpochSecond());
        claims.put("roles", Arrays.asList(roles));
        return claims;
    }

    private String sign(PrivateKey key, Map<String, Object> claims) {
        String header = b64(json.writeValueAsString(Map.of("alg", "RS256", "typ", "JWT", "kid", KEY_ID))
                .getBytes(StandardCharsets.UTF_8));
        String payload = b64(json.writeValueAsString(claims).getBytes(StandardCharsets.UTF_8));
        try {
            Signature rs256 = Signature.getInstance("SHA256withRSA");
            rs256.initSign(key);
            rs256.update((header + "." + payload).getBytes(StandardCharsets.US_ASCII));
            return header + "." + payload + "." + b64(rs256.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private String jwks(RSAPublicKey key) {
        return json.writeValueAsString(Map.of("keys", java.util.List.of(Map.of("kty", "RSA", "kid", KEY_ID,
                "use", "sig", "alg", "RS256", "n", b64(unsigned(key.getModulus())),
                "e", b64(unsigned(key.getPublicExponent()))))));
    }

    private static byte[] unsigned(BigInteger value) {
        byte[] bytes = value.toByteArray();
        return bytes[0] == 0 ? Arrays.copyOfRange(bytes, 1, bytes.length) : bytes;
    }

    private static String b64(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static KeyPair rsa() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
