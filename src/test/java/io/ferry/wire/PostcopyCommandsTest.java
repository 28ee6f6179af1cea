package io.ferry.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Post-copy's stream commands (ADVISE, RAM_DISCARD, LISTEN, RUN) written and read back, and refused when malformed. */
class PostcopyCommandsTest {

    private static final List<RamBlockInfo> RAM = List.of(new RamBlockInfo("pc.ram", 1 << 20),
            new RamBlockInfo("vga.vram", 1 << 16));

    static class PostcopyListener extends RecordingListener {
        final List<String> postcopy = new ArrayList<>();

        @Override
        public void postcopyAdvise() {
            postcopy.add("advise");
        }

        @Override
        public void postcopyDiscard(int blockIndex, long firstPage, long pages) {
            postcopy.add("discard " + blockIndex + ":" + firstPage + "+" + pages);
        }

        @Override
        public void postcopyListen() {
            postcopy.add("listen");
        }

        @Override
        public void postcopyRun() {
            postcopy.add("run");
        }
    }

    private static byte[] stream(java.util.function.Consumer<ByteBuf> commands) {
        ByteBuf out = Unpooled.buffer();
        StreamEncoder.header(out, StreamFormat.MACHINE_TYPE);
        StreamEncoder.postcopyAdvise(out);
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, 1, StreamFormat.RAM_SECTION, 0,
                StreamFormat.RAM_SECTION_VERSION);
        StreamEncoder.ramBlockList(out, RAM);
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, 1);
        commands.accept(out);
        return Feeding.drain(out);
    }

    @Test
    void adviseDiscardListenAndRunRoundTrip() {
        long[] starts = new long[14];
        long[] lengths = new long[14];
        for (int i = 0; i < 14; i++) {
            starts[i] = i * 8192L;
            lengths[i] = 4096;
        }
        byte[] stream = stream(out -> {
            StreamEncoder.postcopyDiscard(out, "pc.ram", starts, lengths, 0, 12);
            StreamEncoder.postcopyDiscard(out, "pc.ram", starts, lengths, 12, 2);
            StreamEncoder.postcopyDiscard(out, "vga.vram", new long[] {4096}, new long[] {3 * 4096}, 0, 1);
            StreamEncoder.postcopyListen(out);
            StreamEncoder.deviceState(out, 2, new byte[] {9});
            StreamEncoder.postcopyRun(out);
        });
        for (int feeding = 0; feeding < 2; feeding++) {
            PostcopyListener listener = new PostcopyListener();
            StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
            if (feeding == 0) {
                Feeding.whole(decoder, stream);
            } else {
                Feeding.byteByByte(decoder, stream);
            }
            assertThat(listener.postcopy).hasSize(1 + 14 + 1 + 2);
            assertThat(listener.postcopy.get(0)).isEqualTo("advise");
            assertThat(listener.postcopy.get(1)).isEqualTo("discard 0:0+1");
            assertThat(listener.postcopy.get(14)).isEqualTo("discard 0:26+1");
            assertThat(listener.postcopy.subList(15, 18)).containsExactly("discard 1:1+3", "listen", "run");
        }
    }

    private static void assertRefused(byte[] stream, String message) {
        List<PostcopyListener> listeners = Feeding.assertRefused(PostcopyListener::new, stream,
                DecoderLimits.defaults(), message);
        // a command is validated whole: none of a refused command's ranges was reported
        listeners.forEach(l -> assertThat(l.postcopy).noneMatch(e -> e.startsWith("discard")));
    }

    @Test
    void discardsOutsideTheBlockOrNotWholePagesAreRefusedBeforeAnyRange() {
        assertRefused(stream(out -> StreamEncoder.postcopyDiscard(out, "pc.ram", new long[] {0, 1 << 20},
                new long[] {4096, 4096}, 0, 2)), "is not whole pages within block 'pc.ram'");
        assertRefused(stream(out -> StreamEncoder.postcopyDiscard(out, "pc.ram", new long[] {100},
                new long[] {4096}, 0, 1)), "is not whole pages");
        assertRefused(stream(out -> StreamEncoder.postcopyDiscard(out, "rom", new long[] {0},
                new long[] {4096}, 0, 1)), "unknown RAM block 'rom'");
        assertRefused(stream(out -> {
            out.writeByte(StreamFormat.COMMAND);
            out.writeShort(StreamFormat.CMD_POSTCOPY_RUN);
            out.writeShort(4);
        }), "POSTCOPY_RUN has bad length 4");
        assertThatThrownBy(() -> StreamEncoder.postcopyDiscard(Unpooled.buffer(), "pc.ram", new long[13],
                new long[13], 0, 13)).isInstanceOf(IllegalArgumentException.class);
    }

    /** QEMU's PACKAGED: {@code | 0x08 | be16 7 | be16 4 | be32 n |} and n bytes of nested stream. */
    private static void packaged(ByteBuf out, byte[] contents) {
        out.writeByte(StreamFormat.COMMAND);
        out.writeShort(StreamFormat.CMD_PACKAGED);
        out.writeShort(4);
        out.writeInt(contents.length);
        out.writeBytes(contents);
    }

    @Test
    void aPackageIsRefusedUnlessTheListenerTakesItThenPassedOverUnreadByteByByte() {
        byte[] contents = new byte[300];
        java.util.Arrays.fill(contents, (byte) 0x7E);   // nothing in it is read: not even a footer byte
        byte[] stream = stream(out -> {
            packaged(out, contents);
            StreamEncoder.sectionPart(out, StreamFormat.SECTION_END, 1);
            StreamEncoder.ramEos(out);
            StreamEncoder.footer(out, 1);
            out.writeByte(StreamFormat.EOF);
        });
        Feeding.assertRefused(PostcopyListener::new, stream, DecoderLimits.defaults(), "PACKAGED");

        for (int feeding = 0; feeding < 2; feeding++) {
            List<Long> packages = new ArrayList<>();
            PostcopyListener listener = new PostcopyListener() {
                @Override
                public boolean packaged(long length) {
                    packages.add(length);
                    return true;
                }
            };
            StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
            if (feeding == 0) {
                Feeding.whole(decoder, stream);
            } else {
                Feeding.byteByByte(decoder, stream);
            }
            assertThat(packages).containsExactly(300L);
            assertThat(decoder.finished()).isTrue();
            assertThat(decoder.position()).isEqualTo(stream.length);
        }
    }
}
