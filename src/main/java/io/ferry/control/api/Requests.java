package io.ferry.control.api;

import io.ferry.control.idempotency.IdempotencyKey;
import io.ferry.control.system.Callers;
import io.ferry.control.system.Labels;
import java.util.Map;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Principal;
import java.util.HexFormat;
import tools.jackson.databind.json.JsonMapper;

/** Small helpers shared by the controllers: who is asking, and the idempotency key of a POST. */
final class Requests {

    static final String IDEMPOTENCY_KEY = "Idempotency-Key";

    private Requests() {
    }

    /** The caller as timelines name it: {@code api:<token name>} or {@code jwt:<subject>} (see {@link Callers}). */
    static String actor(Principal principal) {
        return Callers.actor(principal);
    }

    /** Refuses a label map or selector that breaks the label rules (see {@link Labels}), naming the field. */
    static Map<String, String> labels(String field, Map<String, String> labels) {
        String problem = Labels.problem(labels);
        if (problem != null) {
            throw new InvalidRequestException(field, problem);
        }
        return labels == null ? Map.of() : labels;
    }

    /** Null when the client sent no key; otherwise the key with a fingerprint of the body it came with. */
    static IdempotencyKey idempotencyKey(String scope, String key, Object body, JsonMapper json) {
        if (key == null) {
            return null;
        }
        if (key.isBlank() || key.length() > 255 || !key.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new InvalidRequestException(IDEMPOTENCY_KEY,
                    "must be 1 to 255 printable ASCII characters without spaces");
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(json.writeValueAsString(body).getBytes(StandardCharsets.UTF_8));
            return new IdempotencyKey(scope, key, HexFormat.of().formatHex(digest));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
