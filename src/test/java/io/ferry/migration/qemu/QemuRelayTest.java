package io.ferry.migration.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.ferry.migration.MigrationFailure;
import io.ferry.migration.transport.CertificateAuthority;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.DataPlaneServer;
import io.ferry.migration.transport.DataPlaneTls;
import io.ferry.migration.transport.IncomingRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

/**
 * A real QEMU 7.2 migration through the relay: source QEMU → unix socket → {@link SourceRelay}
 * (tee) → data plane over loopback → {@link DestinationRelay} → unix socket → destination QEMU.
 * 64 MiB pc guests, vCPUs stopped (-S), so memory holds still and is known: the source's RAM is a
 * file this test fills (24 MiB of seeded random bytes with a marker at 12 MiB, zeroes after them).
 * Skipped where qemu-system-x86_64 is not installed.
 */
class QemuRelayTest {

    private static final int MIB = 64;
    private static final long SIZE = (long) MIB << 20;
    private static final int RANDOM_BYTES = 24 << 20;
    /** Inside the random bytes: with the source held to 32 MiB/s, the refusal comes long before its switchover. */
    private static final long MARKER_AT = 12L << 20;
    /** Unique in the stream: the tamper proxy finds the marker page's record by it. */
    private static final byte[] MARKER = "FERRY-TAMPER-MRK".getBytes(StandardCharsets.US_ASCII);
    private static final long TIMEOUT_MS = 10_000;

    private static Path binary;
    private static Path memoryDir;
    private static Path memory;
    private static EventLoopGroup group;

    private Path dir;
    private final Map<UUID, IncomingRegistry.IncomingEndpoint> expected = new ConcurrentHashMap<>();
    private final IncomingRegistry registry = expected::get;
    private DataPlaneServer server;

    @BeforeAll
    static void guestMemory() throws IOException {
        binary = TestQemu.binary().orElse(null);
        assumeThat(binary).as("qemu-system-x86_64 on PATH (apt-get install qemu-system-x86)").isNotNull();
        memoryDir = Files.createTempDirectory(Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm")
                : Path.of(System.getProperty("java.io.tmpdir")), "ferry-relay-");
        memory = memoryDir.resolve("guest.ram");
        try (FileChannel out = FileChannel.open(memory, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] random = new byte[RANDOM_BYTES];
            new SplittableRandom(16).nextBytes(random);
            out.write(ByteBuffer.wrap(random));
            out.write(ByteBuffer.wrap(MARKER), MARKER_AT);
            out.truncate(SIZE);
            out.write(ByteBuffer.allocate(1), SIZE - 1);
        }
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterAll
    static void removeMemory() throws IOException {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (memory != null) {
            Files.deleteIfExists(memory);
            Files.deleteIfExists(memoryDir);
        }
    }

    @BeforeEach
    void directory() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "relay");   // unix socket paths must stay short
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(dir);
    }

    private String startDataPlane(DataPlaneSecurity security) throws InterruptedException {
        server = DataPlaneServer.bind(group, group, new InetSocketAddress("127.0.0.1", 0), registry, security);
        return "127.0.0.1:" + server.port();
    }

    /** Destination QEMU listening on its socket, its relay expected for {@code job}. */
    private DestinationRelay expect(TestQemu destination, UUID job, byte[] secret) throws IOException {
        Path socket = dir.resolve("incoming.sock");
        destination.execute("migrate-set-capabilities", Map.of("capabilities",
                java.util.List.of(Map.of("capability", "return-path", "state", true))));
        destination.execute("migrate-incoming", Map.of("uri", "unix:" + socket));
        DestinationRelay relay = new DestinationRelay(group, secret, socket);
        expected.put(job, relay);
        return relay;
    }

    private static void prepareSource(TestQemu source, long bandwidth) throws IOException {
        source.execute("migrate-set-capabilities", Map.of("capabilities",
                java.util.List.of(Map.of("capability", "return-path", "state", true))));
        source.execute("migrate-set-parameters", Map.of("max-bandwidth", bandwidth));
    }

    @ParameterizedTest(name = "data plane {0}")
    @ValueSource(strings = {"plain", "tls"})
    void aPausedGuestMovesThroughTheRelayWithItsMemoryIntactAndQemusOwnFigures(String mode) throws Exception {
        DataPlaneSecurity[] sides = security(mode);
        String address = startDataPlane(sides[1]);
        UUID job = UUID.randomUUID();
        byte[] secret = "relay-secret".getBytes(StandardCharsets.UTF_8);
        try (TestQemu destination = TestQemu.destination(binary, dir, "dst", MIB);
             TestQemu source = TestQemu.source(binary, dir, "src", memory, MIB)) {
            DestinationRelay arriving = expect(destination, job, secret);
            SourceRelay relay = SourceRelay.open(group, sides[0], address, job, secret, dir, TIMEOUT_MS);
            prepareSource(source, 100L << 30);
            String before = source.runState();

            long start = System.nanoTime();
            source.execute("migrate", Map.of("uri", relay.uri()));
            JsonNode sent = source.awaitMigration(120, "completed", "failed", "cancelled");
            assertThat(sent.path("status").asString()).as("source: %s; destination log: %s", sent,
                    destination.logTail()).isEqualTo("completed");
            JsonNode arrived = destination.awaitMigration(60, "completed", "failed");
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(arrived.path("status").asString()).isEqualTo("completed");
            StreamProgress p = relay.done().toCompletableFuture().get(30, TimeUnit.SECONDS);
            long carried = arriving.done().toCompletableFuture().get(30, TimeUnit.SECONDS);

            assertThat(destination.runState()).as("the source's run state, carried over").isEqualTo(before);
            assertThat(source.runState()).isEqualTo("postmigrate");
            String sourceRam = pmemsave(source, "src.pmem");
            String destinationRam = pmemsave(destination, "dst.pmem");
            assertThat(destinationRam).isEqualTo(sourceRam);
            assertThat(sha256(dir.resolve("dst.pmem"), 1 << 20)).as("RAM above 1 MiB as the test wrote it")
                    .isEqualTo(sha256(memory, 1 << 20));

            JsonNode ram = sent.path("ram");
            assertThat(p.endOfStream() && p.vmDescription()).isTrue();
            assertThat(p.receivedBytes()).isEqualTo(p.forwardedBytes()).isEqualTo(carried);
            assertThat(p.ramTotalBytes()).isEqualTo(ram.path("total").asLong());
            assertThat(p.normalPages()).isEqualTo(ram.path("normal").asLong());
            assertThat(p.zeroPages()).isEqualTo(ram.path("duplicate").asLong());
            assertThat((double) p.ramSectionBytes()).isCloseTo(ram.path("transferred").asDouble(),
                    org.assertj.core.data.Percentage.withPercentage(2));
            assertThat(p.ramPasses()).isGreaterThanOrEqualTo(1);
            assertThat(p.deviceSections()).isPositive();
            System.out.printf(java.util.Locale.ROOT, "relay (%s): %d stream bytes (%d RAM, %d device tail) in %.2f s; "
                            + "QEMU: total-time %d ms, downtime %d ms, transferred %d, normal %d, duplicate %d, "
                            + "dirty-sync-count %d; tee: %d normal, %d zero, %d RAM sections, %d passes, %d device "
                            + "sections%n", mode, p.receivedBytes(), p.ramSectionBytes(), p.deviceBytes(), seconds,
                    sent.path("total-time").asLong(), sent.path("downtime").asLong(), ram.path("transferred").asLong(),
                    ram.path("normal").asLong(), ram.path("duplicate").asLong(), ram.path("dirty-sync-count").asLong(),
                    p.normalPages(), p.zeroPages(), p.ramSections(), p.ramPasses(), p.deviceSections());
        }
    }

    @Test
    void postCopyMovesThePausedGuestThroughTheRelayItsPackageCountedNotRead() throws Exception {
        String address = startDataPlane(DataPlaneSecurity.plain());
        UUID job = UUID.randomUUID();
        byte[] secret = "relay-secret".getBytes(StandardCharsets.UTF_8);
        try (TestQemu destination = TestQemu.destination(binary, dir, "dst", MIB);
             TestQemu source = TestQemu.source(binary, dir, "src", memory, MIB)) {
            Object postcopy = java.util.List.of(Map.of("capability", "postcopy-ram", "state", true),
                    Map.of("capability", "return-path", "state", true));
            destination.execute("migrate-set-capabilities", Map.of("capabilities", postcopy));
            Path socket = dir.resolve("incoming.sock");
            destination.execute("migrate-incoming", Map.of("uri", "unix:" + socket));
            expected.put(job, new DestinationRelay(group, secret, socket));
            SourceRelay relay = SourceRelay.open(group, DataPlaneSecurity.plain(), address, job, secret, dir,
                    TIMEOUT_MS);
            source.execute("migrate-set-capabilities", Map.of("capabilities", postcopy));
            source.execute("migrate-set-parameters", Map.of("max-bandwidth", 32L << 20));
            source.execute("migrate", Map.of("uri", relay.uri()));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (relay.progress().forwardedBytes() < (4 << 20) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            source.execute("migrate-start-postcopy");

            JsonNode sent = source.awaitMigration(120, "completed", "failed", "cancelled");
            assertThat(sent.path("status").asString()).as("source: %s; destination log: %s", sent,
                    destination.logTail()).isEqualTo("completed");
            assertThat(destination.awaitMigration(60, "completed", "failed").path("status").asString())
                    .isEqualTo("completed");
            StreamProgress p = relay.done().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertThat(p.postcopyPackageBytes()).isPositive();
            assertThat(p.deviceSections()).isZero();
            assertThat(p.endOfStream()).isTrue();
            assertThat(pmemsave(destination, "dst.pmem")).isEqualTo(pmemsave(source, "src.pmem"));
            assertThat(sha256(dir.resolve("dst.pmem"), 1 << 20)).isEqualTo(sha256(memory, 1 << 20));
            System.out.printf("post-copy: %d stream bytes, package %d bytes, %d normal and %d zero pages; QEMU: "
                            + "postcopy-requests %d, downtime %d ms%n", p.receivedBytes(), p.postcopyPackageBytes(),
                    p.normalPages(), p.zeroPages(), sent.path("ram").path("postcopy-requests").asLong(),
                    sent.path("downtime").asLong());
        }
    }

    @Test
    void aByteFlippedInTheRamSectionFailsTheRelayBeforeTheDestinationCompletesAndTheSourceKeepsTheGuest()
            throws Exception {
        String address = startDataPlane(DataPlaneSecurity.plain());
        UUID job = UUID.randomUUID();
        byte[] secret = "relay-secret".getBytes(StandardCharsets.UTF_8);
        try (TestQemu destination = TestQemu.destination(binary, dir, "dst", MIB);
             TestQemu source = TestQemu.source(binary, dir, "src", memory, MIB)) {
            expect(destination, job, secret);
            SourceRelay relay = SourceRelay.open(group, DataPlaneSecurity.plain(), address, job, secret, dir,
                    TIMEOUT_MS);
            String before = source.runState();
            prepareSource(source, 32L << 20);
            try (TamperProxy proxy = new TamperProxy(dir.resolve("tamper.sock"), Path.of(relay.uri().substring(5)))) {
                source.execute("migrate", Map.of("uri", "unix:" + proxy.socket));

                assertThatThrownBy(() -> relay.done().toCompletableFuture().get(60, TimeUnit.SECONDS))
                        .cause().isInstanceOfSatisfying(RelayFailure.class, f -> {
                            assertThat(f.getMessage()).contains("decoder refused");
                            assertThat(f.streamOffset()).isEqualTo(proxy.flippedAt.get() - 7);
                        });
                assertThat(relay.progress().forwardedBytes()).isLessThanOrEqualTo(proxy.flippedAt.get() - 7);
                JsonNode sent = source.awaitMigration(60, "failed", "cancelled", "completed");
                assertThat(sent.path("status").asString()).isEqualTo("failed");
                System.out.printf("corrupted stream: %s; source QEMU: %s%n",
                        relay.done().toCompletableFuture().handle((v, e) -> e.getCause().getMessage()).join(),
                        sent.path("error-desc").asString(""));
            }
            assertThat(source.runState()).isEqualTo(before);
            assertThat(pmemsave(source, "src.pmem")).isNotNull();
            assertThat(sha256(dir.resolve("src.pmem"), 1 << 20)).isEqualTo(sha256(memory, 1 << 20));
            // the destination never read past the refusal: it fails (QEMU 7.2 exits) instead of completing
            if (!destination.awaitExit(30)) {
                assertThat(destination.migrationStatus()).isNotEqualTo("completed");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"migrate_cancel", "relay closed", "data plane broken"})
    void cancelledMidWayTheSourceKeepsItsGuestAsItWas(String how) throws Exception {
        String address = startDataPlane(DataPlaneSecurity.plain());
        UUID job = UUID.randomUUID();
        byte[] secret = "relay-secret".getBytes(StandardCharsets.UTF_8);
        try (TestQemu destination = TestQemu.destination(binary, dir, "dst", MIB);
             TestQemu source = TestQemu.source(binary, dir, "src", memory, MIB)) {
            DestinationRelay arriving = expect(destination, job, secret);
            SourceRelay relay = SourceRelay.open(group, DataPlaneSecurity.plain(), address, job, secret, dir,
                    TIMEOUT_MS);
            String before = source.runState();
            prepareSource(source, 8L << 20);   // 24 MiB of random pages take some seconds
            source.execute("migrate", Map.of("uri", relay.uri()));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (relay.progress().forwardedBytes() < (4 << 20) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(relay.progress().normalPages()).isPositive();
            switch (how) {
                case "migrate_cancel" -> {
                    source.execute("migrate_cancel");
                    relay.close();
                }
                case "relay closed" -> relay.close();
                default -> arriving.close();   // the destination's end of the data plane goes away
            }

            assertThatThrownBy(() -> relay.done().toCompletableFuture().get(30, TimeUnit.SECONDS))
                    .cause().isInstanceOfSatisfying(RelayFailure.class, f -> {
                        System.out.printf("%s: %s%n", how, f.getMessage());
                        if (how.equals("data plane broken")) {
                            assertThat(f.getMessage()).contains("data-plane connection");
                        }
                    });
            JsonNode sent = source.awaitMigration(60, "failed", "cancelled", "completed");
            assertThat(sent.path("status").asString()).isIn("cancelled", "failed");
            assertThat(source.runState()).isEqualTo(before);
            pmemsave(source, "src.pmem");
            assertThat(sha256(dir.resolve("src.pmem"), 1 << 20)).isEqualTo(sha256(memory, 1 << 20));
            if (!destination.awaitExit(30)) {
                assertThat(destination.migrationStatus()).isNotEqualTo("completed");
            }
        }
    }

    @Test
    void aDestinationQemuThatReadsNothingHoldsTheSourceQemuBackThroughBothRelays() throws Exception {
        String address = startDataPlane(DataPlaneSecurity.plain());
        UUID job = UUID.randomUUID();
        byte[] secret = "relay-secret".getBytes(StandardCharsets.UTF_8);
        Path stalled = dir.resolve("stalled.sock");
        // 192 MiB of random pages: a stream far larger than every buffer between QEMU and QEMU
        int bigMib = 192;
        Path big = memoryDir.resolve("big.ram");
        try (FileChannel out = FileChannel.open(big, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            SplittableRandom random = new SplittableRandom(192);
            byte[] chunk = new byte[8 << 20];
            for (int i = 0; i < bigMib / 8; i++) {
                random.nextBytes(chunk);
                out.write(ByteBuffer.wrap(chunk));
            }
        }
        try (ServerSocketChannel fakeDestination = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
             TestQemu source = TestQemu.source(binary, dir, "src", big, bigMib)) {
            fakeDestination.bind(UnixDomainSocketAddress.of(stalled));   // the kernel accepts; nobody reads
            DestinationRelay arriving = new DestinationRelay(group, secret, stalled);
            expected.put(job, arriving);
            SourceRelay relay = SourceRelay.open(group, DataPlaneSecurity.plain(), address, job, secret, dir,
                    TIMEOUT_MS);
            source.execute("migrate-set-parameters", Map.of("max-bandwidth", 100L << 30));
            source.execute("migrate", Map.of("uri", relay.uri()));
            Thread.sleep(3000);

            JsonNode info = source.execute("query-migrate");
            StreamProgress p = relay.progress();
            System.out.printf("stalled destination: QEMU sent %d of %d, the relay received %d, forwarded %d, the "
                            + "destination relay carried %d%n", info.path("ram").path("transferred").asLong(),
                    info.path("ram").path("total").asLong(), p.receivedBytes(), p.forwardedBytes(),
                    arriving.carriedBytes());
            assertThat(info.path("status").asString()).isEqualTo("active");
            // in flight: socket buffers, the data plane's 8 MiB high-water mark, loopback TCP's buffers
            assertThat(arriving.carriedBytes()).isLessThan(4L << 20);
            assertThat(p.receivedBytes()).isLessThan(64L << 20);
            assertThat(p.receivedBytes() - p.forwardedBytes()).isLessThan(64L << 10);
            Thread.sleep(1000);
            assertThat(relay.progress().receivedBytes()).as("still held back").isLessThan(64L << 20);

            source.execute("migrate_cancel");
            relay.close();
            arriving.close();
            assertThat(source.awaitMigration(30, "cancelled", "failed").path("status").asString())
                    .isIn("cancelled", "failed");
        } finally {
            Files.deleteIfExists(big);
        }
    }

    @Test
    void aJobThatExpectsFerrysOwnStreamRefusesARelayedQemuStream() throws Exception {
        String address = startDataPlane(DataPlaneSecurity.plain());
        UUID job = UUID.randomUUID();
        byte[] secret = "relay-secret".getBytes(StandardCharsets.UTF_8);
        expected.put(job, new IncomingRegistry.IncomingEndpoint() {
            @Override
            public byte[] secret() {
                return secret;
            }

            @Override
            public IncomingRegistry.StreamSink attach(String remote, IncomingRegistry.ConnectionControl c) {
                throw new IllegalStateException("not this one");
            }
        });
        assertThatThrownBy(() -> SourceRelay.open(group, DataPlaneSecurity.plain(), address, job, secret, dir,
                TIMEOUT_MS)).isInstanceOf(MigrationFailure.class).hasMessageContaining("refused");
    }

    @Test
    void aWrongSecretIsRefusedAtTheHandshake() throws Exception {
        String address = startDataPlane(DataPlaneSecurity.plain());
        UUID job = UUID.randomUUID();
        expected.put(job, new DestinationRelay(group, "right".getBytes(StandardCharsets.UTF_8), dir.resolve("x.sock")));
        assertThatThrownBy(() -> SourceRelay.open(group, DataPlaneSecurity.plain(), address, job,
                "wrong".getBytes(StandardCharsets.UTF_8), dir, TIMEOUT_MS))
                .isInstanceOf(MigrationFailure.class).hasMessageContaining("refused");
        assertThat(Files.exists(dir.resolve("relay-" + job.toString().substring(0, 8) + ".sock"))).isFalse();
    }

    private DataPlaneSecurity[] security(String mode) {
        if (mode.equals("plain")) {
            return new DataPlaneSecurity[] {DataPlaneSecurity.plain(), DataPlaneSecurity.plain()};
        }
        CertificateAuthority ca = CertificateAuthority.create("ferry-relay-test-ca", Duration.ofDays(1));
        return new DataPlaneSecurity[] {
                DataPlaneSecurity.tls(ca.issue("worker-a", Duration.ofDays(1)).tls(DataPlaneTls.Provider.AUTO)),
                DataPlaneSecurity.tls(ca.issue("worker-b", Duration.ofDays(1)).tls(DataPlaneTls.Provider.AUTO))};
    }

    /** pmemsave of the whole guest RAM into the test directory; its sha256. */
    private String pmemsave(TestQemu qemu, String name) throws Exception {
        Path file = dir.resolve(name);
        qemu.execute("pmemsave", Map.of("val", 0, "size", SIZE, "filename", file.toString()));
        return sha256(file, 0);
    }

    private static String sha256(Path file, long from) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(from);
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /**
     * A unix-socket proxy between the source QEMU and the relay that flips one bit: the flags byte
     * of the record that carries the marker page (the byte just before its data), so the record
     * claims the retired FULL flag. The return path passes untouched.
     */
    private static final class TamperProxy implements AutoCloseable {
        final Path socket;
        final AtomicLong flippedAt = new AtomicLong(-1);
        private final ServerSocketChannel listener;
        private final Thread thread;

        TamperProxy(Path socket, Path relay) throws IOException {
            this.socket = socket;
            listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            listener.bind(UnixDomainSocketAddress.of(socket));
            thread = new Thread(() -> run(relay), "tamper-proxy");
            thread.setDaemon(true);
            thread.start();
        }

        private void run(Path relay) {
            try (SocketChannel qemu = listener.accept();
                 SocketChannel out = SocketChannel.open(UnixDomainSocketAddress.of(relay))) {
                Thread back = new Thread(() -> copy(out, qemu), "tamper-proxy-return");
                back.setDaemon(true);
                back.start();
                ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
                long offset = 0;   // stream offset of buffer[0]
                while (qemu.read(buffer) >= 0) {
                    buffer.flip();
                    int keep = 0;
                    if (flippedAt.get() < 0) {
                        int m = indexOf(buffer, MARKER);
                        if (m > 0) {
                            buffer.put(m - 1, (byte) (buffer.get(m - 1) | 0x01));
                            flippedAt.set(offset + m - 1);
                        } else {
                            keep = Math.min(buffer.remaining(), 24);   // a marker split across reads
                        }
                    }
                    int send = buffer.limit() - keep;
                    ByteBuffer part = buffer.duplicate().limit(send);
                    while (part.hasRemaining()) {
                        out.write(part);
                    }
                    offset += send;
                    buffer.position(send);
                    buffer.compact();
                }
            } catch (IOException e) {
                // either end went away: so does the proxy
            }
        }

        private static void copy(SocketChannel from, SocketChannel to) {
            ByteBuffer buffer = ByteBuffer.allocate(64 << 10);
            try {
                while (from.read(buffer) >= 0) {
                    buffer.flip();
                    while (buffer.hasRemaining()) {
                        to.write(buffer);
                    }
                    buffer.clear();
                }
                to.shutdownOutput();
            } catch (IOException e) {
                // closed
            }
        }

        private static int indexOf(ByteBuffer buffer, byte[] pattern) {
            outer:
            for (int i = buffer.position(); i <= buffer.limit() - pattern.length; i++) {
                for (int k = 0; k < pattern.length; k++) {
                    if (buffer.get(i + k) != pattern[k]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }

        @Override
        public void close() throws IOException {
            listener.close();
            thread.interrupt();
        }
    }
}
