package io.ferry.migration.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.wire.Handshake;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The destination's connection handler puts together elements split across reads, and only
 * those: every element reaches the sink whole and in order, whatever the reads' sizes, and the
 * bytes after a split element are decoded from the read itself, not copied through the handler's
 * buffer. Played with a sink that, like the stream decoder, consumes whole elements only (here: a
 * length, then that many bytes; length 0 ends the stream).
 */
class IncomingConnectionSplitTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 4104, 16 << 10, 64 << 10})
    void everyElementArrivesWholeAndOnlySplitOnesAreCopied(int maxRead) {
        SplittableRandom random = new SplittableRandom(maxRead);
        List<byte[]> elements = new ArrayList<>();
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        for (int i = 0, count = maxRead < 4096 ? 40 : 600; i < count; i++) {
            // mostly page-sized records, some small, some longer than the handler's top-up step
            int length = random.nextInt(10) == 0 ? 1 + random.nextInt(20_000) : 4096 + random.nextInt(16);
            byte[] element = new byte[length];
            random.nextBytes(element);
            elements.add(element);
            stream.writeBytes(intBytes(length));
            stream.writeBytes(element);
        }
        stream.writeBytes(intBytes(0));

        byte[] secret = new byte[32];
        random.nextBytes(secret);
        UUID job = UUID.randomUUID();
        RecordingSink sink = new RecordingSink();
        IncomingRegistry registry = id -> !id.equals(job) ? null : new IncomingRegistry.IncomingEndpoint() {
            @Override
            public byte[] secret() {
                return secret;
            }

            @Override
            public IncomingRegistry.StreamSink attach(String remoteAddress,
                                                      IncomingRegistry.ConnectionControl connection) {
                return sink;
            }
        };
        EmbeddedChannel channel = new EmbeddedChannel(new IncomingConnectionHandler(registry,
                DataPlaneSecurity.plain(), new PlacingRecvAllocator(), null));
        ByteBuf hello = channel.readOutbound();
        Handshake.Hello decoded = Handshake.decodeHello(hello);
        hello.release();

        ByteBuf proof = Unpooled.buffer();
        Handshake.encodeProof(proof, job, Handshake.proof(secret, decoded.nonce(), job, Handshake.Channel.MAIN));
        byte[] proofBytes = new byte[proof.readableBytes()];
        proof.readBytes(proofBytes);
        proof.release();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(proofBytes);
        all.writeBytes(stream.toByteArray());
        byte[] bytes = all.toByteArray();

        int reads = 0;
        for (int at = 0; at < bytes.length; reads++) {
            int n = Math.min(bytes.length - at, 1 + random.nextInt(maxRead));
            ByteBuf read = random.nextBoolean() ? Unpooled.directBuffer(n) : Unpooled.buffer(n);
            read.writeBytes(bytes, at, n);
            sink.read = read;
            channel.writeInbound(read);
            at += n;
        }
        channel.runPendingTasks();

        assertThat(sink.ended).isTrue();
        assertThat(sink.elements).hasSize(elements.size());
        for (int i = 0; i < elements.size(); i++) {
            assertThat(sink.elements.get(i)).as("element %d", i).isEqualTo(elements.get(i));
        }
        // per read, only the split element and what follows it within one top-up step (1 KiB) go
        // through the handler's buffer: with reads of 32 KiB on average, about a seventh of the bytes
        assertThat(sink.consumedFromOtherBuffers).isLessThanOrEqualTo((long) reads * (20_004 + 1024));
        if (maxRead == 64 << 10) {
            assertThat(sink.consumedFromOtherBuffers).isLessThan(bytes.length / 4);
        }
        channel.finishAndReleaseAll();
    }

    private static byte[] intBytes(int value) {
        return new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value};
    }

    /** Consumes whole elements only; counts the bytes it took from buffers other than the reads themselves. */
    private static final class RecordingSink implements IncomingRegistry.StreamSink {
        /** The read being delivered. */
        ByteBuf read;
        final List<byte[]> elements = new ArrayList<>();
        long consumedFromOtherBuffers;
        boolean ended;

        @Override
        public boolean feed(ByteBuf in) {
            while (in.readableBytes() >= Integer.BYTES && !ended) {
                int length = in.getInt(in.readerIndex());
                if (in.readableBytes() < Integer.BYTES + length) {
                    break;
                }
                in.skipBytes(Integer.BYTES);
                byte[] element = new byte[length];
                in.readBytes(element);
                if (in != read) {
                    consumedFromOtherBuffers += Integer.BYTES + length;
                }
                if (length == 0) {
                    ended = true;
                } else {
                    elements.add(element);
                }
            }
            return ended;
        }

        @Override
        public void closed(Throwable cause) {
        }

        @Override
        public CompletionStage<IncomingRegistry.Verdict> verdict() {
            return CompletableFuture.completedFuture(new IncomingRegistry.Verdict(0, null));
        }

        @Override
        public String failureReason() {
            return null;
        }
    }
}
