package io.ferry.wire;

import static io.ferry.wire.Feeding.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class HandshakeTest {

    private static final byte[] SECRET = "s3cret".getBytes(StandardCharsets.UTF_8);
    private static final byte[] NONCE = new byte[Handshake.NONCE_LENGTH];
    private static final UUID JOB = new UUID(0x0011223344556677L, 0x8899aabbccddeeffL);

    static {
        for (int i = 0; i < NONCE.length; i++) {
            NONCE[i] = (byte) i;
        }
    }

    /** Feeds {@code bytes} one at a time: null until the last byte, nothing consumed until then. */
    private static <T> T decodeByteByByte(byte[] bytes, Function<ByteBuf, T> decode) {
        ByteBuf in = Unpooled.buffer();
        try {
            for (int i = 0; i < bytes.length; i++) {
                in.writeByte(bytes[i]);
                T value = decode.apply(in);
                if (i < bytes.length - 1) {
                    assertThat(value).isNull();
                    assertThat(in.readerIndex()).isZero();
                } else {
                    assertThat(in.readableBytes()).isZero();
                    return value;
                }
            }
            throw new AssertionError("empty input");
        } finally {
            in.release();
        }
    }

    @Test
    void proofIsHmacSha256OverDomainNonceAndJobId() {
        // python3: hmac.new(b"s3cret", b"ferry-migration-v1" + bytes(range(32)) + job id bytes, sha256)
        assertThat(Handshake.proof(SECRET, NONCE, JOB))
                .isEqualTo(hex("99f569202aa6768a97e9e8106a810f649bd6d9c6f95d3204ccf7f74d0d4e215e"));
    }

    @Test
    void helloRoundTrip() {
        ByteBuf out = Unpooled.buffer();
        Handshake.encodeHello(out, NONCE);
        byte[] bytes = Feeding.drain(out);

        assertThat(bytes).hasSize(Handshake.HELLO_LENGTH);
        assertThat(java.util.Arrays.copyOf(bytes, 5)).isEqualTo(hex("46525948 01"));
        assertThat(decodeByteByByte(bytes, Handshake::decodeHello).nonce()).isEqualTo(NONCE);
    }

    @Test
    void helloWithAnotherMagicOrVersionIsRefused() {
        ByteBuf qemu = Unpooled.wrappedBuffer(hex("5145564d"));
        ByteBuf v2 = Unpooled.buffer().writeInt(Handshake.MAGIC).writeByte(2).writeBytes(NONCE);
        try {
            assertThatThrownBy(() -> Handshake.decodeHello(qemu)).isInstanceOf(StreamFormatException.class)
                    .hasMessage("Not a Ferry handshake: magic 0x5145564d, expected 0x46525948 (FRYH)");
            assertThatThrownBy(() -> Handshake.decodeHello(v2)).isInstanceOf(StreamFormatException.class)
                    .hasMessage("Unsupported Ferry handshake version 2 (supported: 1)");
        } finally {
            qemu.release();
            v2.release();
        }
    }

    @Test
    void proofRoundTripAndVerification() {
        byte[] nonce = Handshake.newNonce(new SecureRandom());
        ByteBuf out = Unpooled.buffer();
        Handshake.encodeProof(out, JOB, Handshake.proof(SECRET, nonce, JOB));
        byte[] bytes = Feeding.drain(out);
        assertThat(bytes).hasSize(Handshake.PROOF_LENGTH);
        assertThat(java.util.Arrays.copyOf(bytes, 16)).isEqualTo(hex("00112233445566778899aabbccddeeff"));

        Handshake.Proof proof = decodeByteByByte(bytes, Handshake::decodeProof);

        assertThat(proof.jobId()).isEqualTo(JOB);
        assertThat(Handshake.verify(SECRET, nonce, JOB, proof)).isTrue();
        assertThat(Handshake.verify(SECRET, nonce, JOB, proof.mac())).isTrue();
    }

    @Test
    void wrongSecretIsRefused() {
        byte[] mac = Handshake.proof("other".getBytes(StandardCharsets.UTF_8), NONCE, JOB);
        assertThat(Handshake.verify(SECRET, NONCE, JOB, new Handshake.Proof(JOB, mac))).isFalse();
    }

    @Test
    void proofForAnotherNonceIsRefused() {
        byte[] replayedNonce = NONCE.clone();
        replayedNonce[31] ^= 1;
        byte[] mac = Handshake.proof(SECRET, replayedNonce, JOB);
        assertThat(Handshake.verify(SECRET, NONCE, JOB, new Handshake.Proof(JOB, mac))).isFalse();
    }

    @Test
    void proofForAnotherJobIsRefused() {
        UUID other = new UUID(JOB.getMostSignificantBits(), JOB.getLeastSignificantBits() + 1);
        byte[] macForOther = Handshake.proof(SECRET, NONCE, other);
        // claims the other job honestly
        assertThat(Handshake.verify(SECRET, NONCE, JOB, new Handshake.Proof(other, macForOther))).isFalse();
        // claims our job with a MAC computed for the other one
        assertThat(Handshake.verify(SECRET, NONCE, JOB, new Handshake.Proof(JOB, macForOther))).isFalse();
        assertThat(Handshake.verify(SECRET, NONCE, JOB, macForOther)).isFalse();
    }

    @Test
    void tamperedOrShortMacIsRefused() {
        byte[] mac = Handshake.proof(SECRET, NONCE, JOB);
        mac[0] ^= (byte) 0x80;
        assertThat(Handshake.verify(SECRET, NONCE, JOB, mac)).isFalse();
        assertThat(Handshake.verify(SECRET, NONCE, JOB, new byte[31])).isFalse();
        assertThat(Handshake.verify(SECRET, NONCE, JOB, (byte[]) null)).isFalse();
    }

    @Test
    void emptySecretIsAProgrammingError() {
        assertThatThrownBy(() -> Handshake.proof(new byte[0], NONCE, JOB)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void verdictRoundTrip() {
        ByteBuf out = Unpooled.buffer();
        Handshake.encodeVerdict(out, Handshake.ACCEPTED);
        Handshake.encodeVerdict(out, Handshake.REFUSED_BAD_PROOF);
        try {
            assertThat(out.readableBytes()).isEqualTo(2);
            assertThat(Handshake.decodeVerdict(out).accepted()).isTrue();
            Handshake.Verdict refused = Handshake.decodeVerdict(out);
            assertThat(refused.accepted()).isFalse();
            assertThat(refused.code()).isEqualTo(1);
            assertThat(Handshake.decodeVerdict(out)).isNull();
        } finally {
            out.release();
        }
        assertThatThrownBy(() -> new Handshake.Verdict(256)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tlsAnnouncementIsFryTAndVersionOneByteByByte() {
        ByteBuf out = Unpooled.buffer();
        Handshake.encodeTlsAnnounce(out);
        byte[] bytes = Feeding.drain(out);
        assertThat(bytes).isEqualTo(hex("4652595401"));
        assertThat(decodeByteByByte(bytes, Handshake::decodeMode)).isEqualTo(Handshake.Mode.TLS);
    }

    @Test
    void aHelloIsPlainModeAndLeftForDecodeHello() {
        ByteBuf in = Unpooled.buffer();
        try {
            Handshake.encodeHello(in, NONCE);
            assertThat(Handshake.decodeMode(in)).isEqualTo(Handshake.Mode.PLAIN);
            assertThat(in.readerIndex()).isZero();
            assertThat(Handshake.decodeHello(in).nonce()).isEqualTo(NONCE);
        } finally {
            in.release();
        }
    }

    @Test
    void anythingElseIsNotAFerryHandshake() {
        ByteBuf junk = Unpooled.wrappedBuffer(hex("1603010200"));
        ByteBuf version = Unpooled.wrappedBuffer(hex("4652595402"));
        try {
            assertThatThrownBy(() -> Handshake.decodeMode(junk)).isInstanceOf(StreamFormatException.class)
                    .hasMessageContaining("FRYT");
            assertThatThrownBy(() -> Handshake.decodeMode(version)).isInstanceOf(StreamFormatException.class)
                    .hasMessageContaining("version 2");
        } finally {
            junk.release();
            version.release();
        }
    }

    @Test
    void aClientHelloLooksLikeTlsAndAProofOfAnOrdinaryJobDoesNot() {
        ByteBuf clientHello = Unpooled.wrappedBuffer(hex("160301020001000001fc0303"));
        ByteBuf proof = Unpooled.buffer();
        try {
            assertThat(Handshake.looksLikeTls(clientHello)).isTrue();
            Handshake.encodeProof(proof, JOB, Handshake.proof(SECRET, NONCE, JOB));
            assertThat(Handshake.looksLikeTls(proof)).isFalse();
        } finally {
            clientHello.release();
            proof.release();
        }
    }

    @Test
    void eachChannelsProofOpensThatChannelOnlyAndARelayedQemuStreamIsOneOfThem() {
        for (Handshake.Channel channel : Handshake.Channel.values()) {
            Handshake.Proof proof = new Handshake.Proof(JOB, Handshake.proof(SECRET, NONCE, JOB, channel));
            assertThat(Handshake.verifiedChannel(SECRET, NONCE, JOB, proof)).isEqualTo(channel);
        }
        byte[] relayed = Handshake.proof(SECRET, NONCE, JOB, Handshake.Channel.QEMU_STREAM);
        assertThat(relayed).isNotEqualTo(Handshake.proof(SECRET, NONCE, JOB, Handshake.Channel.MAIN));
        assertThat(Handshake.verify(SECRET, NONCE, JOB, new Handshake.Proof(JOB, relayed))).isFalse();
    }
}
