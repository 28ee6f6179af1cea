package io.ferry.channel;

import java.util.UUID;

/**
 * Control plane → destination worker: expect a migration stream for {@code jobId}. The worker
 * prepares an incoming guest of this layout — its images opened inactive ({@code storage}
 * {@code shared}) or created empty and inactive for the stream to fill ({@code copy}); the
 * layout's disk generations are those the source holds — and accepts one data-plane connection
 * that proves it knows {@code secret} (base64, one-time, per job), and with {@code channels} above
 * 1 as many multifd channels beside it (0, from a control plane that predates them, means 1).
 * With {@code compression} other than none (null, from a control plane that predates it, means
 * none) the pages arrive compressed so, on at least one multifd channel.
 */
public record StartIncomingCommand(UUID jobId, CreateGuestCommand guest, String secret, boolean verifyChecksums,
                                   StorageMode storage, int channels, CompressionMethod compression) {

    public StartIncomingCommand {
        compression = compression == null ? CompressionMethod.NONE : compression;
    }
}
