package io.ferry.wire;

import static io.ferry.wire.Feeding.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ReturnPathTest {

    private static byte[] encode(ReturnPathMessage... messages) {
        ByteBuf out = Unpooled.buffer();
        for (ReturnPathMessage message : messages) {
            ReturnPathMessage.encode(out, message);
        }
        return Feeding.drain(out);
    }

    /** Feeds one byte at a time; returns what the decoder delivered and checks nothing stayed unread. */
    private static List<ReturnPathMessage> decodeByteByByte(byte[] bytes) {
        List<ReturnPathMessage> received = new ArrayList<>();
        ReturnPathDecoder decoder = new ReturnPathDecoder(received::add);
        ByteBuf cumulation = Unpooled.buffer();
        try {
            for (byte b : bytes) {
                cumulation.writeByte(b);
                decoder.feed(cumulation);
            }
            assertThat(cumulation.readableBytes()).isZero();
        } finally {
            cumulation.release();
        }
        return received;
    }

    @Test
    void ferrysReasonTravelsBeforeARefusingShutEvenOneByteAtATime() {
        ByteBuf out = Unpooled.buffer();
        ReturnPathMessage.encode(out, new ReturnPathMessage.Reason("memory checksum mismatch"));
        ReturnPathMessage.encode(out, new ReturnPathMessage.Shut(1));
        assertThat(out.getUnsignedShort(0)).isEqualTo(0x0100);
        List<ReturnPathMessage> got = new ArrayList<>();
        ReturnPathDecoder decoder = new ReturnPathDecoder(got::add);
        ByteBuf acc = Unpooled.buffer();
        while (out.isReadable()) {
            acc.writeBytes(out, 1);
            decoder.feed(acc);
        }
        assertThat(got).containsExactly(new ReturnPathMessage.Reason("memory checksum mismatch"),
                new ReturnPathMessage.Shut(1));
        out.release();
        acc.release();
    }

    @Test
    void anEmptyReasonIsRefused() {
        ByteBuf in = Unpooled.buffer().writeShort(0x0100).writeShort(0);
        assertThatThrownBy(() -> new ReturnPathDecoder(m -> { }).feed(in)).hasMessageContaining("REASON is empty");
        in.release();
    }

    @Test
    void encodesQemusLayout() {
        assertThat(encode(new ReturnPathMessage.Shut(0))).isEqualTo(hex("0001 0004 00000000"));
        assertThat(encode(new ReturnPathMessage.Shut(1))).isEqualTo(hex("0001 0004 00000001"));
        assertThat(encode(new ReturnPathMessage.Pong(0x01020304))).isEqualTo(hex("0002 0004 01020304"));
    }

    @Test
    void roundTripFedOneByteAtATime() {
        List<ReturnPathMessage> sent = List.of(new ReturnPathMessage.Pong(1), new ReturnPathMessage.Pong(-2),
                new ReturnPathMessage.Shut(0), new ReturnPathMessage.Shut(1));

        List<ReturnPathMessage> received = decodeByteByByte(encode(sent.toArray(ReturnPathMessage[]::new)));

        assertThat(received).containsExactlyElementsOf(sent);
        assertThat(((ReturnPathMessage.Shut) received.get(2)).ok()).isTrue();
        assertThat(((ReturnPathMessage.Shut) received.get(3)).ok()).isFalse();
    }

    @Test
    void partialMessageStaysUnread() {
        List<ReturnPathMessage> received = new ArrayList<>();
        ReturnPathDecoder decoder = new ReturnPathDecoder(received::add);
        ByteBuf in = Unpooled.wrappedBuffer(hex("0002 0004 01020304 0001 0004 0000"));
        try {
            decoder.feed(in);
            assertThat(received).containsExactly(new ReturnPathMessage.Pong(0x01020304));
            assertThat(in.readableBytes()).isEqualTo(6);
        } finally {
            in.release();
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0009 0004 00000000 | Unknown return-path message type 9",
            "0000 0000          | Return-path message type 0 (INVALID)",
            "0004 000c 0000000000001000 00001000 | Return-path message REQ_PAGES before any REQ_PAGES_ID",
            "0003 000e 0000000000000800 00001000 01 61 | Return-path page request 2048+4096 is not whole pages",
            "0003 0010 0000000000001000 00001000 01 61 6262 | Return-path message REQ_PAGES_ID has bad length 16",
            "0007 0000          | Return-path message SWITCHOVER_ACK (7) is not supported",
            "0001 0005          | Return-path message SHUT has bad length 5 (expected 4)",
            "0002 0000          | Return-path message PONG has bad length 0 (expected 4)",
            "0001 0258          | Return-path message of type 1 has length 600, limit 512",
    })
    void malformedMessagesAreRefusedBeforeDelivery(String bytes, String message) {
        List<ReturnPathMessage> received = new ArrayList<>();
        ReturnPathDecoder decoder = new ReturnPathDecoder(received::add);
        ByteBuf in = Unpooled.wrappedBuffer(hex("0002 0004 00000007" + bytes));
        try {
            assertThatThrownBy(() -> decoder.feed(in)).isInstanceOf(StreamFormatException.class).hasMessage(message);
            assertThat(received).containsExactly(new ReturnPathMessage.Pong(7));
            assertThatThrownBy(() -> decoder.feed(in)).isInstanceOf(IllegalStateException.class);
        } finally {
            in.release();
        }
    }

    @Test
    void pageRequestsRoundTripAndAShortRequestUsesThePreviousBlock() {
        List<ReturnPathMessage> received = new ArrayList<>();
        ReturnPathDecoder decoder = new ReturnPathDecoder(received::add);
        ByteBuf out = Unpooled.buffer();
        ReturnPathMessage.encode(out, new ReturnPathMessage.RequestPages("pc.ram", 8192, 4096));
        out.writeBytes(hex("0004 000c 0000000000003000 00002000"));   // REQ_PAGES: same block
        try {
            decoder.feed(out);
            assertThat(received).containsExactly(new ReturnPathMessage.RequestPages("pc.ram", 8192, 4096),
                    new ReturnPathMessage.RequestPages("pc.ram", 0x3000, 0x2000));
        } finally {
            out.release();
        }
    }
}
