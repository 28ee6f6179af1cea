package io.ferry.control.system;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * The two bearer tokens of the control plane: one for API clients, one for the control channel
 * with workers. A token left unconfigured is generated once and kept in the data directory, so
 * it outlives restarts (running workers keep working with a restarted control plane).
 */
@Component
public class AccessTokens {

    private static final Logger log = LoggerFactory.getLogger(AccessTokens.class);

    private final String apiToken;
    private final String workerToken;

    AccessTokens(@Value("${ferry.api.token}") String apiToken, @Value("${ferry.worker.token}") String workerToken,
                 @Value("${ferry.data-dir}") Path dataDir) {
        this.apiToken = configuredOrKept(apiToken, dataDir.resolve("api-token"), "API");
        this.workerToken = configuredOrKept(workerToken, dataDir.resolve("worker-token"), "worker");
    }

    public String workerToken() {
        return workerToken;
    }

    boolean isApiToken(String presented) {
        return matches(apiToken, presented);
    }

    boolean isWorkerToken(String presented) {
        return matches(workerToken, presented);
    }

    private static boolean matches(String expected, String presented) {
        return presented != null && MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                presented.getBytes(StandardCharsets.UTF_8));
    }

    private static String configuredOrKept(String configured, Path file, String what) {
        if (configured != null && !configured.isBlank()) {
            return configured;
        }
        try {
            if (Files.exists(file)) {
                return Files.readString(file).strip();
            }
            Files.createDirectories(file.getParent());
            byte[] random = new byte[24];
            new SecureRandom().nextBytes(random);
            String token = HexFormat.of().formatHex(random);
            Files.writeString(file, token + "\n");
            try {
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException notPosix) {
                // best effort on non-POSIX file systems
            }
            log.info("generated the {} token and kept it in {}", what, file.toAbsolutePath());
            return token;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the " + what + " token in " + file, e);
        }
    }
}
