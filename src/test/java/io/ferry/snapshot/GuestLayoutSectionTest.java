package io.ferry.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.guest.DiskSpec;
import io.ferry.wire.StreamFormatException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GuestLayoutSectionTest {

    private static final GuestLayoutSection.Layout LAYOUT = new GuestLayoutSection.Layout(4096,
            List.of(new DiskSpec("disk-0", "virtio-disk0", 1 << 20), new DiskSpec("d.1", "données", 8192)));

    private final ByteBuf section = Unpooled.buffer();

    @AfterEach
    void release() {
        section.release();
    }

    @Test
    void readsBackWhatItWrites() {
        int payloadBytes = GuestLayoutSection.write(section, 2, LAYOUT);

        ByteBuf payload = payloadOf(section, payloadBytes);

        assertThat(GuestLayoutSection.read(payload, 1)).isEqualTo(LAYOUT);
        assertThat(section.getByte(section.writerIndex() - 5)).isEqualTo((byte) 0x7E);
        assertThat(section.getInt(section.writerIndex() - 4)).isEqualTo(2);
    }

    @Test
    void theLengthPrefixCountsTheBytesAfterIt() {
        int payloadBytes = GuestLayoutSection.write(section, 2, LAYOUT);

        ByteBuf payload = payloadOf(section, payloadBytes);

        assertThat(payload.getInt(payload.readerIndex())).isEqualTo(payloadBytes - 4);
    }

    @Test
    void refusesAnotherVersionAShortPayloadTrailingBytesAndAnInvalidDisk() {
        int payloadBytes = GuestLayoutSection.write(section, 2, LAYOUT);
        ByteBuf payload = payloadOf(section, payloadBytes);

        assertThatThrownBy(() -> GuestLayoutSection.read(payload, 2)).isInstanceOf(StreamFormatException.class)
                .hasMessageContaining("unsupported version 2");
        assertThatThrownBy(() -> GuestLayoutSection.read(payload.slice(0, payloadBytes - 1), 1))
                .isInstanceOf(StreamFormatException.class).hasMessageContaining("ends inside");
        ByteBuf longer = Unpooled.wrappedBuffer(payload.copy(), Unpooled.wrappedBuffer(new byte[] {9}));
        assertThatThrownBy(() -> GuestLayoutSection.read(longer, 1)).isInstanceOf(StreamFormatException.class)
                .hasMessageContaining("1 bytes after its last disk");
        longer.release();
        ByteBuf badSize = payload.copy();
        badSize.setLong(badSize.writerIndex() - 8, 1000);   // not a multiple of the 4 KiB block size
        assertThatThrownBy(() -> GuestLayoutSection.read(badSize, 1)).isInstanceOf(StreamFormatException.class)
                .hasMessageContaining("invalid disk");
        badSize.release();
    }

    /** The payload between the FULL header ({@code 0x04, id, counted "ferry/guest", instance, version}) and footer. */
    private static ByteBuf payloadOf(ByteBuf section, int payloadBytes) {
        int header = 1 + 4 + 1 + GuestLayoutSection.NAME.length() + 4 + 4;
        return section.slice(header, payloadBytes);
    }
}
