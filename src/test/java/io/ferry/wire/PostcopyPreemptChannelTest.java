package io.ferry.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Post-copy's preempt channel: its handshake proof, and a stream of page records only. */
class PostcopyPreemptChannelTest {

    private static final byte[] SECRET = "s3cret".getBytes(StandardCharsets.UTF_8);
    private static final byte[] NONCE = new byte[Handshake.NONCE_LENGTH];
    private static final UUID JOB = UUID.randomUUID();

    @Test
    void aProofNamesItsChannelAndOpensNoOther() {
        Handshake.Proof preempt = new Handshake.Proof(JOB,
                Handshake.proof(SECRET, NONCE, JOB, Handshake.Channel.POSTCOPY_PREEMPT));
        Handshake.Proof main = new Handshake.Proof(JOB, Handshake.proof(SECRET, NONCE, JOB));

        assertThat(Handshake.verifiedChannel(SECRET, NONCE, JOB, preempt)).isEqualTo(Handshake.Channel.POSTCOPY_PREEMPT);
        assertThat(Handshake.verifiedChannel(SECRET, NONCE, JOB, main)).isEqualTo(Handshake.Channel.MAIN);
        assertThat(Handshake.verify(SECRET, NONCE, JOB, preempt)).as("a main-channel check refuses it").isFalse();
        assertThat(Handshake.verifiedChannel("other".getBytes(StandardCharsets.UTF_8), NONCE, JOB, preempt)).isNull();
        assertThat(Handshake.verifiedChannel(SECRET, NONCE, UUID.randomUUID(), preempt)).isNull();
    }

    @Test
    void pageRecordsDecodeWithTheirOwnContinueBlock() {
        // what the source writes there: records only, the first one naming its block
        TestStream stream = new TestStream().page("small", 1, 7).page("small", 0, 9).zero("pc.ram", 3);
        byte[] bytes = stream.build();
        RecordingListener whole = new RecordingListener();
        RecordingListener bytewise = new RecordingListener();

        Feeding.whole(StreamDecoder.forPreemptChannel(whole, DecoderLimits.defaults(), TestStream.BLOCKS), bytes);
        Feeding.byteByByte(StreamDecoder.forPreemptChannel(bytewise, DecoderLimits.defaults(), TestStream.BLOCKS),
                bytes);

        assertThat(whole.events).hasSize(3);
        assertThat(whole.events.get(0)).startsWith("page 1 1 ");
        assertThat(whole.events.get(1)).startsWith("page 1 0 ");
        assertThat(whole.events.get(2)).startsWith("zero 0 3");
        assertThat(bytewise.events).isEqualTo(whole.events);
    }

    @Test
    void anythingButAPageRecordIsRefused() {
        byte[] eos = new TestStream().eos().build();
        byte[] continueFirst = new TestStream().word(StreamFormat.PAGE_SIZE | RamFlag.PAGE.code()
                | RamFlag.CONTINUE.code()).pageData(1).build();

        assertThatThrownBy(() -> Feeding.whole(StreamDecoder.forPreemptChannel(new RecordingListener(),
                DecoderLimits.defaults(), TestStream.BLOCKS), eos)).isInstanceOf(StreamFormatException.class)
                .hasMessageContaining("preempt channel carries only ZERO and PAGE records");
        assertThatThrownBy(() -> Feeding.whole(StreamDecoder.forPreemptChannel(new RecordingListener(),
                DecoderLimits.defaults(), TestStream.BLOCKS), continueFirst)).isInstanceOf(StreamFormatException.class)
                .hasMessageContaining("CONTINUE before any block was named");
    }
}
