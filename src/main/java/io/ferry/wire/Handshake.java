package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Objects;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Ferry's connection handshake: <b>Ferry's own, not part of QEMU's protocol</b>. It runs on a fresh
 * migration connection before the source writes the QEVM header, so a destination worker only
 * loads a stream from a source that knows the shared secret and names the job the destination
 * expects. A challenge-response: the nonce makes a recorded proof useless on another connection.
 *
 * <pre>
 *   destination -> source   HELLO    | be32 0x46525948 "FRYH" | u8 version 1 | 32 bytes random nonce |   37 bytes
 *   source -> destination   PROOF    | be64 job id msb | be64 job id lsb | 32 bytes mac |              48 bytes
 *                                      mac = HMAC-SHA256(secret, "ferry-migration-v1" || nonce || job id (16 bytes, msb then lsb))
 *   destination -> source   VERDICT  | u8 0 accepted, non-zero refused |                                 1 byte
 *   then, if accepted, the source sends the migration stream (StreamFormat) on the same connection.
 * </pre>
 *
 * <p>TLS: a destination whose data plane requires TLS first sends, in clear,
 * <pre>
 *   destination -> source   TLS      | be32 0x46525954 "FRYT" | u8 version 1 |                           5 bytes
 * </pre>
 * instead of HELLO; the source then starts a TLS 1.3 handshake (both sides present certificates)
 * and HELLO, PROOF and VERDICT follow inside TLS, so a valid certificate alone never opens a job.
 * The first four bytes a destination sends thus say which of the two it speaks, and each side
 * refuses the other mode with a reason instead of reading the other's bytes as its own: a source
 * that requires TLS never downgrades to HELLO, and a destination that requires TLS never sends one
 * outside it.
 *
 * <p>Channels: the domain string names which of a job's connections the proof opens. The main
 * channel uses {@code "ferry-migration-v1"}; post-copy's preempt channel (QEMU's
 * {@code postcopy-preempt}: requested pages only, so they never queue behind the background
 * push) uses {@code "ferry-migration-preempt-v1"}; a relayed QEMU stream (QEMU loads it, not Ferry) uses
 * {@code "ferry-qemu-stream-v1"}. The destination learns the channel from which
 * MAC verifies, so the kind is authenticated and the PROOF keeps its 48 bytes; a destination that
 * knows only the main channel refuses a preempt proof, and the source goes on without one.
 *
 * <p>Decoders return {@code null} until all of the message's bytes are readable and consume nothing
 * until then; encoders are stateless. The secret must not be empty.
 */
public final class Handshake {

    /** "FRYH". */
    public static final int MAGIC = 0x46525948;
    /** "FRYT": the destination requires TLS; HELLO follows inside it. */
    public static final int TLS_MAGIC = 0x46525954;
    public static final int TLS_ANNOUNCE_LENGTH = Integer.BYTES + 1;
    public static final int VERSION = 1;
    public static final int NONCE_LENGTH = 32;
    public static final int MAC_LENGTH = 32;
    public static final int HELLO_LENGTH = Integer.BYTES + 1 + NONCE_LENGTH;
    public static final int PROOF_LENGTH = 2 * Long.BYTES + MAC_LENGTH;
    public static final int VERDICT_LENGTH = 1;

    /** Verdict codes. Any non-zero code refuses; these name the reasons Ferry uses. */
    public static final int ACCEPTED = 0;
    public static final int REFUSED_BAD_PROOF = 1;
    public static final int REFUSED_BUSY = 2;

    private static final String HMAC = "HmacSHA256";

    /** Which of a job's connections a PROOF opens; the channel's domain string is part of the MAC. */
    public enum Channel {
        /** The migration stream and its return path. */
        MAIN("ferry-migration-v1"),
        /** Post-copy's urgent pages: RAM page records only, and the page requests on its return path. */
        POSTCOPY_PREEMPT("ferry-migration-preempt-v1"),
        /** One of QEMU's multifd channels: packets of pages (a MultifdInit first), no return path. */
        MULTIFD("ferry-migration-multifd-v1"),
        /**
         * A real QEMU's own migration stream, relayed byte for byte between a source QEMU and a
         * destination QEMU (io.ferry.migration.qemu), and QEMU's own return path the other way:
         * the destination writes it into its QEMU's socket instead of loading it itself.
         */
        QEMU_STREAM("ferry-qemu-stream-v1");

        private final byte[] domain;

        Channel(String domain) {
            this.domain = domain.getBytes(StandardCharsets.US_ASCII);
        }
    }

    private Handshake() {
    }

    /** HELLO: the destination's challenge. */
    public record Hello(byte[] nonce) {
        public Hello {
            requireLength(nonce, NONCE_LENGTH, "nonce");
            nonce = nonce.clone();
        }
    }

    /** PROOF: the job the source migrates and its MAC over the nonce. */
    public record Proof(UUID jobId, byte[] mac) {
        public Proof {
            Objects.requireNonNull(jobId, "jobId");
            requireLength(mac, MAC_LENGTH, "mac");
            mac = mac.clone();
        }
    }

    /** VERDICT: 0 accepted, anything else refused. */
    public record Verdict(int code) {
        public Verdict {
            if (code < 0 || code > 0xFF) {
                throw new IllegalArgumentException("verdict code must be 0..255, got " + code);
            }
        }

        public boolean accepted() {
            return code == ACCEPTED;
        }
    }

    /** A fresh random nonce. */
    public static byte[] newNonce(SecureRandom random) {
        byte[] nonce = new byte[NONCE_LENGTH];
        random.nextBytes(nonce);
        return nonce;
    }

    /** What the destination's first bytes say it speaks. */
    public enum Mode {
        /** HELLO follows in clear. */
        PLAIN,
        /** TLS first, then HELLO inside it. */
        TLS
    }

    /** The clear-text announcement of a destination that requires TLS. */
    public static void encodeTlsAnnounce(ByteBuf out) {
        out.writeInt(TLS_MAGIC);
        out.writeByte(VERSION);
    }

    /**
     * Peeks at the destination's first bytes: {@link Mode#PLAIN} at a HELLO (nothing consumed:
     * {@link #decodeHello} reads it), {@link Mode#TLS} once the whole TLS announcement is there
     * (consumed), {@code null} until enough bytes are readable.
     *
     * @throws StreamFormatException for anything but FRYH or FRYT, or an unknown version
     */
    public static Mode decodeMode(ByteBuf in) {
        if (in.readableBytes() < Integer.BYTES) {
            return null;
        }
        int i = in.readerIndex();
        int magic = in.getInt(i);
        if (magic == MAGIC) {
            return Mode.PLAIN;
        }
        if (magic != TLS_MAGIC) {
            throw new StreamFormatException(String.format("Not a Ferry handshake: magic 0x%08x, expected 0x%08x (FRYH) "
                    + "or 0x%08x (FRYT)", magic, MAGIC, TLS_MAGIC));
        }
        if (in.readableBytes() < TLS_ANNOUNCE_LENGTH) {
            return null;
        }
        int version = in.getUnsignedByte(i + Integer.BYTES);
        if (version != VERSION) {
            throw new StreamFormatException("Unsupported Ferry handshake version " + version + " (supported: " + VERSION + ")");
        }
        in.skipBytes(TLS_ANNOUNCE_LENGTH);
        return Mode.TLS;
    }

    /**
     * Whether the readable bytes begin like a TLS ClientHello record (content type 22 handshake,
     * version 3.x, a length within a record, handshake type 1): a TLS client talking to a data
     * plane that expects a PROOF in clear. Only a refusal's reason: a PROOF can look like this by
     * chance (its first bytes are a random job id), so it never decides anything on its own.
     */
    public static boolean looksLikeTls(ByteBuf in) {
        int i = in.readerIndex();
        return in.readableBytes() >= 6 && in.getUnsignedByte(i) == 22 && in.getUnsignedByte(i + 1) == 3
                && in.getUnsignedByte(i + 2) <= 4 && in.getUnsignedShort(i + 3) <= (1 << 14) + 2048
                && in.getUnsignedByte(i + 5) == 1;
    }

    public static void encodeHello(ByteBuf out, byte[] nonce) {
        requireLength(nonce, NONCE_LENGTH, "nonce");
        out.writeInt(MAGIC);
        out.writeByte(VERSION);
        out.writeBytes(nonce);
    }

    /**
     * @return the HELLO, or {@code null} if fewer than {@link #HELLO_LENGTH} bytes are readable
     * @throws StreamFormatException for a wrong magic (checked as soon as 4 bytes are there) or version
     */
    public static Hello decodeHello(ByteBuf in) {
        int i = in.readerIndex();
        if (in.readableBytes() >= Integer.BYTES && in.getInt(i) != MAGIC) {
            throw new StreamFormatException(String.format("Not a Ferry handshake: magic 0x%08x, expected 0x%08x (FRYH)",
                    in.getInt(i), MAGIC));
        }
        if (in.readableBytes() < HELLO_LENGTH) {
            return null;
        }
        int version = in.getUnsignedByte(i + Integer.BYTES);
        if (version != VERSION) {
            throw new StreamFormatException("Unsupported Ferry handshake version " + version + " (supported: " + VERSION + ")");
        }
        byte[] nonce = new byte[NONCE_LENGTH];
        in.getBytes(i + Integer.BYTES + 1, nonce);
        in.skipBytes(HELLO_LENGTH);
        return new Hello(nonce);
    }

    public static void encodeProof(ByteBuf out, UUID jobId, byte[] mac) {
        requireLength(mac, MAC_LENGTH, "mac");
        out.writeLong(jobId.getMostSignificantBits());
        out.writeLong(jobId.getLeastSignificantBits());
        out.writeBytes(mac);
    }

    /** @return the PROOF, or {@code null} if fewer than {@link #PROOF_LENGTH} bytes are readable */
    public static Proof decodeProof(ByteBuf in) {
        if (in.readableBytes() < PROOF_LENGTH) {
            return null;
        }
        UUID jobId = new UUID(in.readLong(), in.readLong());
        byte[] mac = new byte[MAC_LENGTH];
        in.readBytes(mac);
        return new Proof(jobId, mac);
    }

    public static void encodeVerdict(ByteBuf out, int code) {
        out.writeByte(new Verdict(code).code());
    }

    /** @return the VERDICT, or {@code null} if no byte is readable */
    public static Verdict decodeVerdict(ByteBuf in) {
        if (!in.isReadable()) {
            return null;
        }
        return new Verdict(in.readUnsignedByte());
    }

    /** HMAC-SHA256(secret, "ferry-migration-v1" || nonce || job id msb || job id lsb): the main channel's proof. */
    public static byte[] proof(byte[] secret, byte[] nonce, UUID jobId) {
        return proof(secret, nonce, jobId, Channel.MAIN);
    }

    /** HMAC-SHA256(secret, channel domain || nonce || job id msb || job id lsb). */
    public static byte[] proof(byte[] secret, byte[] nonce, UUID jobId, Channel channel) {
        Objects.requireNonNull(secret, "secret");
        if (secret.length == 0) {
            throw new IllegalArgumentException("secret must not be empty");
        }
        requireLength(nonce, NONCE_LENGTH, "nonce");
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(secret, HMAC));
            mac.update(channel.domain);
            mac.update(nonce);
            mac.update(ByteBuffer.allocate(2 * Long.BYTES)
                    .putLong(jobId.getMostSignificantBits())
                    .putLong(jobId.getLeastSignificantBits())
                    .array());
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /**
     * Whether {@code mac} proves knowledge of {@code secret} for this nonce and the job the
     * destination expects. Compares in constant time.
     */
    public static boolean verify(byte[] secret, byte[] nonce, UUID expectedJobId, byte[] mac) {
        if (mac == null || mac.length != MAC_LENGTH) {
            return false;
        }
        return MessageDigest.isEqual(proof(secret, nonce, expectedJobId), mac);
    }

    /** {@link #verify(byte[], byte[], UUID, byte[])} of a decoded PROOF, also checking its job id. */
    public static boolean verify(byte[] secret, byte[] nonce, UUID expectedJobId, Proof proof) {
        return verifiedChannel(secret, nonce, expectedJobId, proof) == Channel.MAIN;
    }

    /**
     * The channel a decoded PROOF opens for the expected job, or {@code null} if it proves none.
     * Compares in constant time.
     */
    public static Channel verifiedChannel(byte[] secret, byte[] nonce, UUID expectedJobId, Proof proof) {
        // The MAC covers the job id, so a proof for another job fails the comparison anyway; the
        // explicit check only makes the reason obvious.
        boolean job = proof.jobId().equals(expectedJobId);
        for (Channel channel : Channel.values()) {
            if (job & MessageDigest.isEqual(proof(secret, nonce, expectedJobId, channel), proof.mac())) {
                return channel;
            }
        }
        return null;
    }

    private static void requireLength(byte[] value, int length, String name) {
        Objects.requireNonNull(value, name);
        if (value.length != length) {
            throw new IllegalArgumentException(name + " must be " + length + " bytes, got " + value.length);
        }
    }
}
