package io.ferry.migration;

import io.ferry.migration.loopback.LoopbackMigration;
import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlock;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.wire.Handshake;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.RamRecordWriter;
import io.ferry.wire.ReturnPathDecoder;
import io.ferry.wire.ReturnPathMessage;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A source that sends a broken stream after a correct handshake: the destination refuses it
 * with a reason on the return path, and its guest holds exactly the pages legitimately received
 * before the bad record — nothing of the bad record, nothing after it.
 */
class MalformedStreamTest {

    private static final long MIB = 1L << 20;
    private static final List<RamBlockInfo> LAYOUT = List.of(new RamBlockInfo("pc.ram", 12 * MIB),
            new RamBlockInfo("vga.vram", 4 * MIB));

    @TempDir
    Path datastore;

    private SyntheticGuest destination;
    private LoopbackMigration loopback;
    private final UUID jobId = UUID.randomUUID();
    private final byte[] secret = "0123456789abcdef0123456789abcdef".getBytes();
    private final RamRecordWriter records = new RamRecordWriter();

    @BeforeEach
    void expectStream() throws Exception {
        destination = SyntheticGuest.createIncoming(new GuestSpec(UUID.randomUUID().toString(),
                LAYOUT.stream().map(b -> new RamBlockSpec(b.idstr(), b.usedLength())).toList(), List.of(), 4096,
                WorkloadSpec.idle()), datastore, SyntheticGuest.IncomingImages.SHARED);
        loopback = new LoopbackMigration();
        loopback.expectIncoming(jobId, secret, destination);
    }

    @org.junit.jupiter.api.AfterEach
    void close() {
        loopback.close();
        destination.close();
    }

    private static byte[] pattern(int seed) {
        byte[] page = new byte[4096];
        Arrays.fill(page, (byte) seed);
        page[0] = (byte) ~seed;
        return page;
    }

    /** Header, RAM block list, then a PART section with pages 0 and 1 of pc.ram. */
    private ByteBuf goodStart() {
        ByteBuf out = Unpooled.buffer();
        StreamEncoder.header(out, StreamFormat.MACHINE_TYPE);
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, 1, StreamFormat.RAM_SECTION, 0, 4);
        StreamEncoder.ramBlockList(out, LAYOUT);
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, 1);
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, 1);
        records.pageHeader(out, "pc.ram", 0);
        out.writeBytes(pattern(1));
        records.pageHeader(out, "pc.ram", 4096);
        out.writeBytes(pattern(2));
        return out;
    }

    /** Plays the source: handshake, then {@code stream}; returns what came back on the return path. */
    private List<ReturnPathMessage> send(ByteBuf stream, boolean closeAfter) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", Integer.parseInt(loopback.dataAddress().split(":")[1]))) {
            socket.setSoTimeout(10_000);
            DataInputStream in = new DataInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            byte[] hello = new byte[Handshake.HELLO_LENGTH];
            in.readFully(hello);
            byte[] nonce = Handshake.decodeHello(Unpooled.wrappedBuffer(hello)).nonce();
            ByteBuf proof = Unpooled.buffer();
            Handshake.encodeProof(proof, jobId, Handshake.proof(secret, nonce, jobId));
            out.write(ByteBufUtil.getBytes(proof));
            proof.release();
            assertThat(in.readByte()).as("verdict").isZero();
            out.write(ByteBufUtil.getBytes(stream));
            stream.release();
            out.flush();
            if (closeAfter) {
                socket.shutdownOutput();
            }
            return readReturnPath(socket.getInputStream());
        }
    }

    private static List<ReturnPathMessage> readReturnPath(InputStream in) throws IOException {
        List<ReturnPathMessage> messages = new ArrayList<>();
        ByteBuf buffer = Unpooled.wrappedBuffer(in.readAllBytes());
        new ReturnPathDecoder(messages::add).feed(buffer);
        buffer.release();
        return messages;
    }

    /** Digest of pc.ram holding {@code pages} at their indexes and zeros elsewhere. */
    private static String expectedPcRam(byte[]... pages) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] zero = new byte[4096];
        for (long p = 0; p < 12 * MIB / 4096; p++) {
            sha.update(p < pages.length ? pages[(int) p] : zero);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private void assertOnlyFirstTwoPagesArrived() throws Exception {
        GuestChecksums sums = destination.checksums();
        assertThat(sums.ramBlocks().get(0).sha256()).isEqualTo(expectedPcRam(pattern(1), pattern(2)));
        assertThat(destination.memory().blocks().get(1).isZeroPage(0)).isTrue();
        assertThat(destination.state()).isEqualTo(GuestState.INCOMING);
    }

    @Test
    void aPageOutsideItsBlockIsRefusedAndNeverWritten() throws Exception {
        ByteBuf stream = goodStart();
        records.pageHeader(stream, "pc.ram", 12 * MIB);   // first byte past pc.ram
        stream.writeBytes(pattern(3));
        List<ReturnPathMessage> answer = send(stream, false);
        assertThat(answer).last().isEqualTo(new ReturnPathMessage.Shut(1));
        assertThat(((ReturnPathMessage.Reason) answer.get(0)).text()).contains("Illegal RAM offset", "'pc.ram'");
        assertOnlyFirstTwoPagesArrived();
    }

    @Test
    void anUnknownFlagIsRefused() throws Exception {
        ByteBuf stream = goodStart();
        stream.writeLong(8192 | 0x80 | 0x20);   // HOOK (RDMA's), which this engine does not accept
        stream.writeBytes(pattern(4));
        List<ReturnPathMessage> answer = send(stream, false);
        assertThat(answer).last().isEqualTo(new ReturnPathMessage.Shut(1));
        assertThat(((ReturnPathMessage.Reason) answer.get(0)).text()).contains("Unknown combination of migration flags");
        assertOnlyFirstTwoPagesArrived();
    }

    @Test
    void anXbzrlePageRunningPastItsPageIsRefusedByNameAndLeavesThePageAsItWas() throws Exception {
        ByteBuf stream = goodStart();
        // page 1 again, as XBZRLE: a zero run of 4095 (ff 1f), then a data run of 2: one byte past the page
        records.xbzrlePage(stream, "pc.ram", 4096, Unpooled.wrappedBuffer(HexFormat.of().parseHex("ff1f02aabb")));
        List<ReturnPathMessage> answer = send(stream, false);
        assertThat(answer).last().isEqualTo(new ReturnPathMessage.Shut(1));
        assertThat(((ReturnPathMessage.Reason) answer.get(0)).text()).contains("RUN_PAST_PAGE", "'pc.ram'");
        assertOnlyFirstTwoPagesArrived();
    }

    @Test
    void anXbzrlePageIsAppliedToThePageHere() throws Exception {
        ByteBuf stream = goodStart();
        // page 1 again: bytes 1 and 2 become 5a 5b (zero run 1, data run 2); then a bad record ends the stream
        records.xbzrlePage(stream, "pc.ram", 4096, Unpooled.wrappedBuffer(HexFormat.of().parseHex("01025a5b")));
        stream.writeLong(8192 | 0x80 | 0x20);
        List<ReturnPathMessage> answer = send(stream, false);
        assertThat(answer).last().isEqualTo(new ReturnPathMessage.Shut(1));
        byte[] changed = pattern(2);
        changed[1] = 0x5a;
        changed[2] = 0x5b;
        assertThat(destination.checksums().ramBlocks().get(0).sha256()).isEqualTo(expectedPcRam(pattern(1), changed));
    }

    @Test
    void aTruncatedStreamLeavesOnlyWholePagesAndNeverResumes() throws Exception {
        ByteBuf stream = goodStart();
        records.pageHeader(stream, "pc.ram", 8192);
        stream.writeBytes(pattern(5), 0, 1000);            // the connection ends inside page 2
        List<ReturnPathMessage> answer = send(stream, true);
        assertThat(answer).doesNotContain(new ReturnPathMessage.Shut(0));
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(loopback.reports()).isEmpty());
        assertOnlyFirstTwoPagesArrived();
    }

    @Test
    void aStreamWithoutDeviceStateIsNotResumed() throws Exception {
        ByteBuf stream = goodStart();
        StreamEncoder.ramEos(stream);
        StreamEncoder.footer(stream, 1);
        StreamEncoder.eof(stream);
        List<ReturnPathMessage> answer = send(stream, false);
        assertThat(answer).last().isEqualTo(new ReturnPathMessage.Shut(1));
        assertThat(((ReturnPathMessage.Reason) answer.get(0)).text()).contains("without the device state");
        assertOnlyFirstTwoPagesArrived();
    }
}
