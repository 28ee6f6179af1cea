package io.ferry.control.webhooks;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The signature of a delivery: {@code Ferry-Signature: sha256=<hex>}, the HMAC-SHA256 under the
 * subscription's secret of {@code <Ferry-Timestamp> + "." + <body>}. The timestamp is inside
 * the signed text so a receiver can refuse a replayed delivery by its age.
 */
public final class WebhookSigner {

    public static final String SIGNATURE_HEADER = "Ferry-Signature";
    public static final String TIMESTAMP_HEADER = "Ferry-Timestamp";
    public static final String EVENT_ID_HEADER = "Ferry-Event-Id";
    public static final String EVENT_TYPE_HEADER = "Ferry-Event-Type";
    public static final String SUBSCRIPTION_HEADER = "Ferry-Subscription-Id";
    static final String SCHEME = "sha256=";

    private WebhookSigner() {
    }

    /** The {@code Ferry-Signature} value for a body sent at {@code timestamp} (Unix seconds). */
    public static String sign(String secret, long timestamp, String body) {
        return SCHEME + HexFormat.of().formatHex(hmac(secret, timestamp + "." + body));
    }

    /** Whether {@code signature} is the one {@link #sign} gives (compared in constant time). */
    public static boolean verify(String secret, long timestamp, String body, String signature) {
        if (signature == null || !signature.startsWith(SCHEME)) {
            return false;
        }
        byte[] given;
        try {
            given = HexFormat.of().parseHex(signature.substring(SCHEME.length()));
        } catch (IllegalArgumentException notHex) {
            return false;
        }
        return MessageDigest.isEqual(given, hmac(secret, timestamp + "." + body));
    }

    private static byte[] hmac(String secret, String text) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return mac.doFinal(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }
}
