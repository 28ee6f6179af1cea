package io.ferry.migration.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.DataPlaneServer;
import io.ferry.migration.transport.IncomingRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.JsonNode;

/**
 * Not a test: a measurement, run by hand with {@code -Dferry.relay.compare=true} (optionally
 * {@code -Dferry.relay.compare.mib=N}). The same paused guest of random RAM migrated QEMU → QEMU
 * directly over a unix socket, directly over loopback TCP, and through the relay (plain data plane over loopback TCP), runs
 * alternating, three each; prints wall time (migrate to destination completed) and QEMU's figures.
 */
@EnabledIfSystemProperty(named = "ferry.relay.compare", matches = "true")
class QemuRelayComparison {

    @Test
    void directAgainstRelayed() throws Exception {
        Path binary = TestQemu.binary().orElse(null);
        assumeThat(binary).isNotNull();
        int mib = Integer.getInteger("ferry.relay.compare.mib", 512);
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "relaycmp");
        Path memory = Files.createTempFile(Path.of("/dev/shm"), "ferry-relay-cmp-", ".ram");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        Map<UUID, IncomingRegistry.IncomingEndpoint> expected = new ConcurrentHashMap<>();
        try (FileChannel out = FileChannel.open(memory, StandardOpenOption.WRITE)) {
            SplittableRandom random = new SplittableRandom(7);
            byte[] chunk = new byte[8 << 20];
            for (long done = 0; done < (long) mib << 20; done += chunk.length) {
                random.nextBytes(chunk);
                out.write(ByteBuffer.wrap(chunk));
            }
        }
        try (DataPlaneServer server = DataPlaneServer.bind(group, group, new InetSocketAddress("127.0.0.1", 0),
                expected::get, DataPlaneSecurity.plain())) {
            List<String> lines = new ArrayList<>();
            for (int run = 1; run <= 3; run++) {
                for (String how : new String[] {"unix", "tcp", "relay"}) {
                    lines.add(migrate(binary, dir, memory, mib, run, how, group, server, expected));
                    System.out.println(lines.get(lines.size() - 1));
                }
            }
            System.out.println(String.join("\n", lines));
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            Files.deleteIfExists(memory);
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** The tee alone: a stream QEMU saved to a file, fed in 64 KiB reads, forwarded nowhere. */
    @Test
    void teeAlone() throws Exception {
        Path binary = TestQemu.binary().orElse(null);
        assumeThat(binary).isNotNull();
        int mib = Integer.getInteger("ferry.relay.compare.mib", 512);
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "relaytee");
        Path memory = Files.createTempFile(Path.of("/dev/shm"), "ferry-relay-tee-", ".ram");
        Path stream = Files.createTempFile(Path.of("/dev/shm"), "ferry-relay-tee-", ".qemu");
        try {
            try (FileChannel out = FileChannel.open(memory, StandardOpenOption.WRITE)) {
                SplittableRandom random = new SplittableRandom(7);
                byte[] chunk = new byte[8 << 20];
                for (long done = 0; done < (long) mib << 20; done += chunk.length) {
                    random.nextBytes(chunk);
                    out.write(ByteBuffer.wrap(chunk));
                }
            }
            try (TestQemu source = TestQemu.source(binary, dir, "tee-src", memory, mib)) {
                source.execute("migrate-set-parameters", Map.of("max-bandwidth", 100L << 30));
                source.execute("migrate", Map.of("uri", "exec:cat > " + stream));
                assertThat(source.awaitMigration(600, "completed", "failed").path("status").asString())
                        .isEqualTo("completed");
            }
            for (int round = 1; round <= 3; round++) {
                long bytes = 0;
                long start = System.nanoTime();
                try (FileChannel in = FileChannel.open(stream, StandardOpenOption.READ);
                     StreamTee tee = new StreamTee(io.ferry.wire.DecoderLimits.defaults(), 64 << 20,
                             io.netty.buffer.ByteBuf::release)) {
                    while (true) {
                        io.netty.buffer.ByteBuf buf = io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(64 << 10);
                        int n = buf.writeBytes(in, 64 << 10);
                        if (n < 0) {
                            buf.release();
                            break;
                        }
                        bytes += n;
                        tee.offer(buf);
                    }
                    tee.endOfInput();
                    assertThat(tee.complete()).isTrue();
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                System.out.printf(Locale.ROOT, "tee alone, round %d: %d bytes in %.3f s, %.0f MiB/s%n", round, bytes,
                        seconds, bytes / seconds / (1 << 20));
            }
        } finally {
            Files.deleteIfExists(memory);
            Files.deleteIfExists(stream);
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    private static String migrate(Path binary, Path dir, Path memory, int mib, int run, String how,
                                  EventLoopGroup group, DataPlaneServer server,
                                  Map<UUID, IncomingRegistry.IncomingEndpoint> expected) throws Exception {
        boolean relayed = how.equals("relay");
        String tag = how + run;
        Path incoming = dir.resolve(tag + "-in.sock");
        try (TestQemu destination = TestQemu.destination(binary, dir, tag + "-dst", mib);
             TestQemu source = TestQemu.source(binary, dir, tag + "-src", memory, mib)) {
            String uri = "unix:" + incoming;
            if (how.equals("tcp")) {
                try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1,
                        java.net.InetAddress.getLoopbackAddress())) {
                    uri = "tcp:127.0.0.1:" + probe.getLocalPort();
                }
            }
            destination.execute("migrate-incoming", Map.of("uri", uri));
            source.execute("migrate-set-parameters", Map.of("max-bandwidth", 100L << 30));
            SourceRelay relay = null;
            if (relayed) {
                UUID job = UUID.randomUUID();
                byte[] secret = "cmp".getBytes(StandardCharsets.UTF_8);
                expected.put(job, new DestinationRelay(group, secret, incoming));
                relay = SourceRelay.open(group, DataPlaneSecurity.plain(), "127.0.0.1:" + server.port(), job,
                        secret, dir, 10_000);
                uri = relay.uri();
            }
            long start = System.nanoTime();
            source.execute("migrate", Map.of("uri", uri));
            JsonNode sent = source.awaitMigration(600, "completed", "failed", "cancelled");
            JsonNode arrived = destination.awaitMigration(600, "completed", "failed");
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(arrived.path("status").asString()).isEqualTo("completed");
            if (relay != null) {
                relay.done().toCompletableFuture().get(60, TimeUnit.SECONDS);
            }
            return String.format(Locale.ROOT, "%-7s %4d MiB guest: %.3f s wall, QEMU total-time %d ms, downtime %d ms, "
                            + "transferred %d bytes, %.0f Mbit/s", tag, mib, seconds, sent.path("total-time").asLong(),
                    sent.path("downtime").asLong(), sent.path("ram").path("transferred").asLong(),
                    sent.path("ram").path("mbps").asDouble());
        }
    }
}
