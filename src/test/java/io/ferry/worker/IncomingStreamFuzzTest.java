package io.ferry.worker;

import io.ferry.channel.CompressionMethod;
import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.MigrationSettings;
import io.ferry.channel.StorageMode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.DiskGeneration;
import io.ferry.channel.DiskLayout;
import io.ferry.channel.RamBlockLayout;
import io.ferry.channel.StartIncomingCommand;
import io.ferry.channel.StartOutgoingCommand;
import io.ferry.channel.WorkloadSettings;
import io.ferry.migration.incoming.IncomingMigration;
import io.ferry.wire.Handshake;
import io.ferry.wire.ReturnPathDecoder;
import io.ferry.wire.ReturnPathMessage;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Seeded fuzzing of the destination's stream decoding (issue 12, item 6): mutated and truncated
 * streams go into a real destination worker over a real data-plane connection, each after a
 * valid per-job handshake so that every byte reaches the decoder. Two seed streams: Ferry's own,
 * recorded from a real migration between two workers through a recording proxy, and QEMU's (the
 * testdata stream {@code none-2M-halfrandom.qemu}, its machine type rewritten to Ferry's so that
 * the decoder goes on past the configuration section into QEMU's RAM records).
 *
 * <p>Every case must end in one of two ways: refused, with a reason (on the return path before
 * SHUT 1 when the connection is still up, and in the destination's log in any case), and the
 * incoming guest let go; or — only for a mutation the stream does not depend on — accepted with
 * checksums equal to the source's (the jobs verify checksums, so a changed page cannot pass).
 * Throughout, a canary guest on the same worker keeps its checksums (nothing is written outside
 * the incoming guest's declared blocks), the worker answers its status, and at the end it takes
 * the unmutated stream as a good migration.
 *
 * <p>{@code -Dferry.fuzz.streams=N} runs N cases (default 300, about half a minute here);
 * {@code -Dferry.fuzz.seed=S} changes the seed. A failure names the seed, the case and the mutation.
 * The mutations are fully seeded; Ferry's seed stream is recorded afresh each run (same layout,
 * but how many pages the workload dirtied before the pause varies a little), so a case replays
 * the same mutation on a very similar, not byte-identical, stream.
 */
class IncomingStreamFuzzTest {

    private static final int CASES = Integer.getInteger("ferry.fuzz.streams", 300);
    private static final long SEED = Long.getLong("ferry.fuzz.seed", 0x5eedf022L);
    private static final long MIB = 1L << 20;
    private static final String TOKEN = "fuzz-worker-token";
    private static final Path QEMU_DIR = java.util.stream.Stream.of(System.getenv("FERRY_QEMU_TESTDATA"),
                    "../shared/testdata/qemu", "/work/shared/testdata/qemu")
            .filter(Objects::nonNull).map(Path::of).filter(Files::isDirectory).findFirst()
            .orElse(Path.of("../shared/testdata/qemu"));

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final JsonMapper json = JsonMapper.builder().build();
    private final SecureRandom random = new SecureRandom();
    private final ExecutorService writers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fuzz-writer");
        t.setDaemon(true);
        return t;
    });
    private FakeControlPlane controlPlane;
    private Worker source;
    private Worker destination;
    private Discards discards;

    /** A stream to mutate, and the guest layout the destination must expect for it. */
    private record Seed(String name, CreateGuestCommand guest, StorageMode storage, byte[] stream, JsonNode expected) {
    }

    /** A mutated stream; {@code truncated}: the source hangs up right after it (no return path is read). */
    private record Mutation(String description, byte[] stream, boolean truncated) {
    }

    @BeforeEach
    void start() throws Exception {
        discards = Discards.attach();
        controlPlane = FakeControlPlane.start();
        source = Worker.start(config("fuzz-source", dir.resolve("source")));
        destination = Worker.start(config("fuzz-destination", dir.resolve("destination")));
        await().atMost(Duration.ofSeconds(20)).until(() -> controlPlane.registered.containsKey("fuzz-source")
                && controlPlane.registered.containsKey("fuzz-destination"));
    }

    @AfterEach
    void stop() {
        writers.shutdownNow();
        if (source != null) {
            source.close();
        }
        if (destination != null) {
            destination.close();
        }
        if (controlPlane != null) {
            controlPlane.server.stop(0);
        }
        discards.detach();
    }

    private WorkerConfig config(String hostId, Path datastore) {
        return new WorkerConfig(hostId, List.of(URI.create("http://127.0.0.1:" + controlPlane.server.getAddress()
                .getPort())), "127.0.0.1", "127.0.0.1", 0, 0, datastore, 1L << 30, 2, Duration.ofMillis(200),
                Duration.ofSeconds(2), TOKEN);
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void mutatedAndTruncatedStreamsAreRefusedWithAReasonAndTheWorkerStaysHealthy() throws Exception {
        Seed ferry = recordFerryStream();
        Seed qemu = qemuSeed();
        UUID canary = UUID.randomUUID();
        createPaused(destination, new CreateGuestCommand(canary, List.of(new RamBlockLayout("pc.ram", 16 * MIB)),
                List.of(new DiskLayout(UUID.randomUUID(), "root", MIB, 1)), 4096,
                new WorkloadSettings(2000, 0.5, 50, 11)));
        JsonNode canarySums = checksums(destination, canary);

        int refused = 0;
        int accepted = 0;
        long started = System.nanoTime();
        for (int i = 0; i < CASES; i++) {
            Seed seed = i % 3 == 2 ? qemu : ferry;
            Mutation mutation = mutate(seed.stream(), new Random(SEED * 1_000_003L + i));
            String what = "seed " + SEED + ", case " + i + " (" + seed.name() + ": " + mutation.description() + ")";
            if (play(seed, mutation, what)) {
                accepted++;
            } else {
                refused++;
            }
            if (i % 20 == 19) {
                assertThat(checksums(destination, canary)).as("canary after " + what).isEqualTo(canarySums);
            }
        }
        LoggerFactory.getLogger(IncomingStreamFuzzTest.class).info("{} cases (seed {}) in {} ms: {} refused, {} accepted",
                CASES, SEED, (System.nanoTime() - started) / 1_000_000, refused, accepted);
        assertThat(checksums(destination, canary)).as("canary at the end").isEqualTo(canarySums);
        assertThat(status(destination).get("guests").findValuesAsString("guestId"))
                .containsExactly(canary.toString());
        // mutations the stream does not depend on are rare; nearly every case must be refused
        assertThat(refused).as("refused of " + CASES + " (accepted " + accepted + ")").isGreaterThan(CASES * 8 / 10);

        // the worker still takes a good migration: the unmutated recorded stream
        assertThat(play(ferry, new Mutation("none", ferry.stream(), false), "the good stream")).isTrue();
        assertThat(checksums(destination, canary)).isEqualTo(canarySums);
    }

    // ---- one case --------------------------------------------------------------------------

    /**
     * Expects a migration of the seed's guest, plays its source with {@code mutation}, and checks
     * the outcome. True when the destination accepted the stream (checked equal to the source).
     */
    private boolean play(Seed seed, Mutation mutation, String what) throws Exception {
        UUID jobId = UUID.randomUUID();
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        HttpResponse<String> expect = command(destination, "POST", "/v1/migrations/incoming",
                new StartIncomingCommand(jobId, seed.guest(), Base64.getEncoder().encodeToString(secret), true,
                        seed.storage(), 1, CompressionMethod.NONE));
        assertThat(expect.statusCode()).as(what + ": " + expect.body()).isEqualTo(201);

        List<ReturnPathMessage> answer = new ArrayList<>();
        try (Socket socket = new Socket("127.0.0.1", port(destination.dataAddress()))) {
            socket.setSoTimeout(5_000);
            handshake(socket, jobId, secret, what);
            OutputStream out = socket.getOutputStream();
            Future<?> written = writers.submit(() -> {
                try {
                    out.write(mutation.stream());
                    out.flush();
                } catch (IOException refusedMidway) {
                    // the destination hung up on a bad record: expected
                }
                return null;
            });
            if (mutation.truncated()) {
                waitQuietly(written, 10_000);
            } else {
                answer = readReturnPath(socket, written);
            }
        }
        // the outcome, from the destination itself: it dropped the guest with a reason, or it runs it
        String guestId = seed.guest().guestId().toString();
        String[] reason = new String[1];
        boolean accepted = await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(5)).until(() -> {
            reason[0] = discards.reasonFor(jobId);
            if (reason[0] != null) {
                return Boolean.FALSE;
            }
            for (JsonNode guest : status(destination).get("guests")) {
                if (guest.get("guestId").asString().equals(guestId) && !guest.get("state").asString().equals("incoming")) {
                    return Boolean.TRUE;
                }
            }
            return null;
        }, Objects::nonNull);
        if (accepted) {
            LoggerFactory.getLogger(IncomingStreamFuzzTest.class).info("accepted, to be checked: {}", what);
            assertThat(answer).as(what).doesNotContain(new ReturnPathMessage.Shut(1));
            assertThat(seed.expected()).as(what + ": accepted a stream that can never be whole").isNotNull();
            JsonNode received = checksums(destination, seed.guest().guestId());
            assertThat(received.get("memory")).as(what + ": memory").isEqualTo(seed.expected().get("memory"));
            assertThat(received.get("disks")).as(what + ": disks").isEqualTo(seed.expected().get("disks"));
            assertThat(received.get("deviceState")).as(what).isEqualTo(seed.expected().get("deviceState"));
            assertThat(command(destination, "DELETE", "/v1/guests/" + guestId + "?deleteImages=true", null)
                    .statusCode()).isEqualTo(204);
        } else {
            assertThat(answer).as(what).doesNotContain(new ReturnPathMessage.Shut(0));
            assertThat(reason[0]).as(what + ": the destination's reason").isNotBlank()
                    .doesNotContain("NullPointerException", "IndexOutOfBounds", "ClassCast");
            if (answer.contains(new ReturnPathMessage.Shut(1))) {
                assertThat(answer.get(0)).as(what + ": a REASON before SHUT 1")
                        .isInstanceOf(ReturnPathMessage.Reason.class);
                assertThat(((ReturnPathMessage.Reason) answer.get(0)).text()).as(what).isNotBlank();
            }
        }
        // the incoming guest is let go (or deleted above), and the worker answers
        await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5))
                .untilAsserted(() -> assertThat(status(destination).get("guests").findValuesAsString("guestId"))
                        .as(what).doesNotContain(guestId));
        return accepted;
    }

    private static void handshake(Socket socket, UUID jobId, byte[] secret, String what) throws IOException {
        DataInputStream in = new DataInputStream(socket.getInputStream());
        byte[] hello = new byte[Handshake.HELLO_LENGTH];
        in.readFully(hello);
        byte[] nonce = Handshake.decodeHello(Unpooled.wrappedBuffer(hello)).nonce();
        ByteBuf proof = Unpooled.buffer();
        Handshake.encodeProof(proof, jobId, Handshake.proof(secret, nonce, jobId));
        socket.getOutputStream().write(ByteBufUtil.getBytes(proof));
        proof.release();
        assertThat(in.readByte()).as(what + ": handshake verdict").isZero();
    }

    /**
     * The return path up to the destination's hang-up, once everything is written. A destination
     * still waiting for bytes the mutation took away gets half a second of silence and then the
     * hang-up, as from a source that died. (The outcome is read from the destination itself, so
     * a verdict that would have come later is not missed.)
     */
    private static List<ReturnPathMessage> readReturnPath(Socket socket, Future<?> written) throws Exception {
        waitQuietly(written, 10_000);
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[4096];
        socket.setSoTimeout(500);
        while (true) {
            try {
                int n = in.read(buffer);
                if (n < 0) {
                    break;
                }
                received.write(buffer, 0, n);
            } catch (SocketTimeoutException silent) {
                break;
            } catch (IOException reset) {
                break;
            }
        }
        List<ReturnPathMessage> messages = new ArrayList<>();
        ByteBuf bytes = Unpooled.wrappedBuffer(received.toByteArray());
        try {
            new ReturnPathDecoder(messages::add).feed(bytes);
        } finally {
            bytes.release();
        }
        return messages;
    }

    private static void waitQuietly(Future<?> written, long millis) throws Exception {
        try {
            written.get(millis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException stuck) {
            written.cancel(true);
        }
    }

    // ---- mutations -------------------------------------------------------------------------

    private static final long[] INTERESTING = {0, 1, -1, 0x7f, 0x80, 0xff, 0x100, 0x7fff_ffffL, 0x8000_0000L,
            0xffff_ffffL, 0x1_0000_0000L, Long.MAX_VALUE, Long.MIN_VALUE, 4096, 4095, 2 * MIB, 2 * MIB - 4096,
            2 * MIB + 4096, 12 * MIB, 64 * MIB};

    /**
     * One seeded mutation. Positions lean towards the structure (the first 8 KiB: header, block
     * list, the first records; the last 16 KiB: device state, digests, EOF) over page contents.
     */
    static Mutation mutate(byte[] seed, Random r) {
        int pos = position(seed.length, r);
        switch (r.nextInt(7)) {
            case 0 -> {
                byte[] s = seed.clone();
                int n = 1 + r.nextInt(4);
                for (int k = 0; k < n; k++) {
                    int at = Math.min(seed.length - 1, pos + r.nextInt(16));
                    s[at] ^= (byte) (1 + r.nextInt(255));
                }
                return new Mutation(n + " byte(s) flipped near " + pos, s, false);
            }
            case 1 -> {
                return new Mutation("truncated at " + pos, java.util.Arrays.copyOf(seed, pos), true);
            }
            case 2 -> {
                byte[] s = seed.clone();
                long value = INTERESTING[r.nextInt(INTERESTING.length)];
                int at = Math.min(pos, seed.length - 8);
                ByteBuffer.wrap(s, at, 8).putLong(value);
                return new Mutation("be64 " + value + " at " + at, s, false);
            }
            case 3 -> {
                byte[] s = seed.clone();
                int value = (int) INTERESTING[r.nextInt(INTERESTING.length)];
                int at = Math.min(pos, seed.length - 4);
                ByteBuffer.wrap(s, at, 4).putInt(value);
                return new Mutation("be32 " + value + " at " + at, s, false);
            }
            case 4 -> {
                int len = 1 + r.nextInt(Math.min(9000, seed.length - pos));
                byte[] s = new byte[seed.length - len];
                System.arraycopy(seed, 0, s, 0, pos);
                System.arraycopy(seed, pos + len, s, pos, seed.length - pos - len);
                return new Mutation(len + " byte(s) cut at " + pos, s, false);
            }
            case 5 -> {
                int len = 1 + r.nextInt(Math.min(9000, seed.length - pos));
                byte[] s = new byte[seed.length + len];
                System.arraycopy(seed, 0, s, 0, pos + len);
                System.arraycopy(seed, pos, s, pos + len, seed.length - pos);
                return new Mutation(len + " byte(s) repeated at " + pos, s, false);
            }
            default -> {
                int len = 1 + r.nextInt(64);
                byte[] junk = new byte[len];
                r.nextBytes(junk);
                byte[] s = new byte[seed.length + len];
                System.arraycopy(seed, 0, s, 0, pos);
                System.arraycopy(junk, 0, s, pos, len);
                System.arraycopy(seed, pos, s, pos + len, seed.length - pos);
                return new Mutation(len + " random byte(s) inserted at " + pos, s, false);
            }
        }
    }

    private static int position(int length, Random r) {
        int choice = r.nextInt(4);
        if (choice < 2) {
            return r.nextInt(Math.min(length - 1, 8192));
        }
        if (choice == 2) {
            return Math.max(0, length - 1 - r.nextInt(Math.min(length - 1, 16384)));
        }
        return r.nextInt(length - 1);
    }

    // ---- seeds -----------------------------------------------------------------------------

    /**
     * Ferry's own stream: a real migration from the source worker to the destination through a
     * proxy that keeps what the source sent after its handshake proof. The guest is paused first,
     * so the stream is exactly its contents, checked by the source's checksums.
     */
    private Seed recordFerryStream() throws Exception {
        UUID guestId = UUID.randomUUID();
        UUID diskId = UUID.randomUUID();
        CreateGuestCommand guest = new CreateGuestCommand(guestId, List.of(new RamBlockLayout("pc.ram", 14 * MIB),
                new RamBlockLayout("vga.vram", 2 * MIB)), List.of(new DiskLayout(diskId, "root", MIB, 1)), 4096,
                new WorkloadSettings(1000, 0.5, 100, 42));
        createPaused(source, guest);
        JsonNode expected = checksums(source, guestId);

        UUID jobId = UUID.randomUUID();
        String secret = Base64.getEncoder().encodeToString(randomBytes(32));
        assertThat(command(destination, "POST", "/v1/migrations/incoming",
                new StartIncomingCommand(jobId, guest, secret, true, StorageMode.COPY, 1,
                        CompressionMethod.NONE)).statusCode())
                .isEqualTo(201);
        try (RecordingProxy proxy = RecordingProxy.to(port(destination.dataAddress()))) {
            assertThat(command(source, "POST", "/v1/migrations/outgoing", new StartOutgoingCommand(jobId, guestId,
                    "127.0.0.1:" + proxy.port(), secret, List.of(new DiskGeneration(diskId, 1)),
                    new MigrationSettings(1L << 30, 300, true, StorageMode.COPY,
                            MigrationSettings.PostcopySettings.OFF, 1, ConvergenceSettings.NONE))).statusCode()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(30)).until(() -> json.readTree(command(source, "GET",
                    "/v1/migrations/" + jobId, null).body()).get("state").asString(), s -> s.equals("handed-over")
                    || s.equals("ended"));
            assertThat(json.readTree(command(source, "GET", "/v1/migrations/" + jobId, null).body()).get("state")
                    .asString()).as("the recorded migration").isEqualTo("handed-over");
            assertThat(checksums(destination, guestId).get("memory")).isEqualTo(expected.get("memory"));
            assertThat(command(destination, "DELETE", "/v1/guests/" + guestId + "?deleteImages=true", null)
                    .statusCode()).isEqualTo(204);
            byte[] sent = proxy.sent();
            return new Seed("ferry", guest, StorageMode.COPY,
                    java.util.Arrays.copyOfRange(sent, Handshake.PROOF_LENGTH, sent.length), expected);
        }
    }

    /**
     * QEMU's stream of a 2 MiB guest, made acceptable up to its device sections: its
     * configuration section names machine {@code none}, which becomes Ferry's machine type; its
     * one RAM block {@code m0} (2 MiB) gets a second, {@code pad} (14 MiB, no pages sent), since
     * a guest here has 16 MiB at least. Then the decoder reads QEMU's own page records into the
     * guest. Its device sections ({@code timer}, {@code globalstate}) are not Ferry's, so it is
     * never accepted, mutated or not.
     */
    private static Seed qemuSeed() throws IOException {
        byte[] file = Files.readAllBytes(QEMU_DIR.resolve("none-2M-halfrandom.qemu"));
        int magicAndVersion = 8;
        assertThat(file[magicAndVersion]).isEqualTo(StreamFormat.CONFIGURATION);
        int nameLength = ByteBuffer.wrap(file).getInt(magicAndVersion + 1);
        byte[] name = StreamFormat.MACHINE_TYPE.getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream machine = new ByteArrayOutputStream();
        machine.write(file, 0, magicAndVersion + 1);
        machine.write(ByteBuffer.allocate(4).putInt(name.length).array());
        machine.write(name);
        int rest = magicAndVersion + 5 + nameLength;
        machine.write(file, rest, file.length - rest);
        byte[] renamed = machine.toByteArray();

        // | be64 total | RAM_SAVE_FLAG_MEM_SIZE | then per block | u8 len | idstr | be64 used_length |
        byte[] m0 = ByteBuffer.allocate(11).put((byte) 2).put("m0".getBytes(StandardCharsets.US_ASCII))
                .putLong(2 * MIB).array();
        int entry = indexOf(renamed, m0);
        assertThat(entry).as("m0 in the RAM block list").isPositive();
        long total = ByteBuffer.wrap(renamed).getLong(entry - 8);
        assertThat(total).isEqualTo(2 * MIB | 0x04);
        ByteBuffer patched = ByteBuffer.allocate(renamed.length + 12);
        patched.put(renamed, 0, entry - 8).putLong(16 * MIB | 0x04).put(m0)
                .put((byte) 3).put("pad".getBytes(StandardCharsets.US_ASCII)).putLong(14 * MIB)
                .put(renamed, entry + m0.length, renamed.length - entry - m0.length);
        CreateGuestCommand guest = new CreateGuestCommand(UUID.randomUUID(), List.of(new RamBlockLayout("m0", 2 * MIB),
                new RamBlockLayout("pad", 14 * MIB)), List.of(), 4096, new WorkloadSettings(0, 0.5, 0, 1));
        return new Seed("qemu none-2M", guest, StorageMode.SHARED, patched.array(), null);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        return bytes;
    }

    // ---- the control channel ---------------------------------------------------------------

    /** Creates the guest, lets its workload write memory and disk for a moment, then pauses it (so its contents hold still). */
    private void createPaused(Worker worker, CreateGuestCommand guest) throws Exception {
        HttpResponse<String> created = command(worker, "POST", "/v1/guests", guest);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        Thread.sleep(300);
        assertThat(command(worker, "POST", "/v1/guests/" + guest.guestId() + "/pause", null).statusCode())
                .isEqualTo(200);
    }

    private JsonNode checksums(Worker worker, UUID guestId) throws Exception {
        HttpResponse<String> reply = command(worker, "GET", "/v1/guests/" + guestId + "/checksums", null);
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(200);
        JsonNode sums = json.readTree(reply.body());
        tools.jackson.databind.node.ObjectNode contents = json.createObjectNode();
        for (String field : List.of("memory", "ramBlocks", "disks", "deviceState")) {
            contents.set(field, sums.get(field));   // not takenAt nor the write count: the contents only
        }
        return contents;
    }

    private JsonNode status(Worker worker) throws Exception {
        HttpResponse<String> reply = command(worker, "GET", "/v1/status", null);
        assertThat(reply.statusCode()).isEqualTo(200);
        return json.readTree(reply.body());
    }

    private HttpResponse<String> command(Worker worker, String method, String path, Object body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://" + worker.controlAddress() + path))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json");
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body)));
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static int port(String address) {
        return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    }

    // ---- test fixtures ---------------------------------------------------------------------

    /**
     * Enough of a control plane for two workers: registration (with a credential), heartbeats,
     * reports, and every hand-off step granted.
     */
    static final class FakeControlPlane {

        final HttpServer server;
        final Map<String, String> registered = new ConcurrentHashMap<>();
        private final JsonMapper json = JsonMapper.builder().build();

        private FakeControlPlane(HttpServer server) {
            this.server = server;
        }

        static FakeControlPlane start() throws IOException {
            FakeControlPlane cp = new FakeControlPlane(HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0));
            cp.server.createContext("/internal/v1/", cp::handle);
            cp.server.setExecutor(Executors.newFixedThreadPool(4, r -> {
                Thread t = new Thread(r, "fake-control-plane");
                t.setDaemon(true);
                return t;
            }));
            cp.server.start();
            return cp;
        }

        private void handle(HttpExchange exchange) throws IOException {
            try {
                String path = exchange.getRequestURI().getPath();
                String method = exchange.getRequestMethod();
                byte[] body = exchange.getRequestBody().readAllBytes();
                if (method.equals("PUT") && path.matches("/internal/v1/workers/[a-z0-9.-]+")) {
                    String hostId = path.substring(path.lastIndexOf('/') + 1);
                    String credential = "fwc_" + UUID.randomUUID().toString().replace("-", "")
                            + "0123456789a";
                    registered.put(hostId, credential);
                    reply(exchange, 200, Map.of("hostId", hostId, "credential", credential));
                } else if (method.equals("POST") && path.endsWith("/ownership")) {
                    JsonNode step = json.readTree(body);
                    boolean handoff = step.get("step").asString().equals("handoff");
                    List<Map<String, Object>> disks = new ArrayList<>();
                    step.get("disks").forEach(d -> disks.add(Map.of("diskId", d.get("diskId").asString(),
                            "ownerHostId", step.get("hostId").asString(), "state", handoff ? "handoff" : "active",
                            "generation", d.get("generation").asLong() + (handoff ? 1 : 2))));
                    reply(exchange, 200, Map.of("disks", disks, "jobStatus", "running"));
                } else {
                    exchange.sendResponseHeaders(204, -1);
                }
            } finally {
                exchange.close();
            }
        }

        private void reply(HttpExchange exchange, int status, Object body) throws IOException {
            byte[] bytes = json.writeValueAsBytes(body);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(status, bytes.length);
            exchange.getResponseBody().write(bytes);
        }
    }

    /** Relays one data-plane connection to the destination and keeps what the source sent. */
    static final class RecordingProxy implements AutoCloseable {

        private final ServerSocket server;
        private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
        private final Thread acceptor;
        private final List<Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();

        private RecordingProxy(ServerSocket server, int destinationPort) {
            this.server = server;
            this.acceptor = new Thread(() -> relay(destinationPort), "recording-proxy");
            this.acceptor.setDaemon(true);
            this.acceptor.start();
        }

        static RecordingProxy to(int destinationPort) throws IOException {
            return new RecordingProxy(new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()),
                    destinationPort);
        }

        int port() {
            return server.getLocalPort();
        }

        private void relay(int destinationPort) {
            try {
                Socket from = server.accept();
                Socket to = new Socket("127.0.0.1", destinationPort);
                sockets.add(from);
                sockets.add(to);
                Thread back = new Thread(() -> pump(to, from, null), "recording-proxy-back");
                back.setDaemon(true);
                back.start();
                pump(from, to, sent);
            } catch (IOException closed) {
                // the proxy was closed
            }
        }

        private static void pump(Socket from, Socket to, ByteArrayOutputStream record) {
            byte[] buffer = new byte[65536];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    if (record != null) {
                        synchronized (record) {
                            record.write(buffer, 0, n);
                        }
                    }
                    out.write(buffer, 0, n);
                }
                to.shutdownOutput();
            } catch (IOException closed) {
                // either side hung up
            }
        }

        byte[] sent() {
            synchronized (sent) {
                return sent.toByteArray();
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    /** The destination's "discarded: reason" lines, by job. */
    static final class Discards extends AppenderBase<ILoggingEvent> {

        private final Queue<String> lines = new ConcurrentLinkedQueue<>();
        private ch.qos.logback.classic.Logger logger;

        static Discards attach() {
            Discards discards = new Discards();
            discards.logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(IncomingMigration.class);
            discards.setContext(discards.logger.getLoggerContext());
            discards.start();
            discards.logger.addAppender(discards);
            return discards;
        }

        void detach() {
            logger.detachAppender(this);
            stop();
        }

        @Override
        protected void append(ILoggingEvent event) {
            lines.add(event.getFormattedMessage());
        }

        /** The reason the destination gave for dropping job {@code jobId}'s guest; null if it has not. */
        String reasonFor(UUID jobId) {
            String prefix = "incoming migration " + jobId + " from ";
            for (String line : lines) {
                int at = line.indexOf(" discarded: ");
                if (line.startsWith(prefix) && at > 0) {
                    return line.substring(at + " discarded: ".length());
                }
            }
            return null;
        }
    }
}
