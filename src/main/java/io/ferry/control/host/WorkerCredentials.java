package io.ferry.control.host;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Per-worker credentials: 256 random bits, sent by the worker as its bearer token, stored by the
 * control plane as a SHA-256 only. A fast unsalted hash is right here (it is not a password:
 * there is nothing to guess), and it lets any replica find the host by the hash with one
 * indexed lookup.
 */
public final class WorkerCredentials {

    /** Tells a worker credential from the bootstrap token and API tokens at a glance (in a log, a leak scanner). */
    public static final String PREFIX = "fwc_";

    private static final SecureRandom RANDOM = new SecureRandom();

    private WorkerCredentials() {
    }

    static String newSecret() {
        byte[] random = new byte[32];
        RANDOM.nextBytes(random);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    }

    public static boolean looksLikeCredential(String token) {
        return token != null && token.startsWith(PREFIX) && token.length() == PREFIX.length() + 43;
    }

    static String hash(String secret) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
