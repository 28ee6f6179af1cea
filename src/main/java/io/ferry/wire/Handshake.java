package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Ferry's own connection handshake (not QEMU's), exchanged before the QEVM header so that a
 * destination reads no stream byte from a peer that cannot prove the job's one-time secret.
 *
 * <pre>
 *  destination → source  HELLO    be32 "FRYH" | u8 version 1 | 32-byte random nonce
 *  source → destination  PROOF    be64 job msb | be64 job lsb | 32-byte HMAC-SHA256(secret,
 *                                  "ferry-migration-v1" || nonce || job id bytes)
 *  destination → source  VERDICT  u8 0 = accepted, anything else = refused (then closed)
 * </pre>
 */
public final class Handshake {

    public static final int MAGIC = 0x46525948;
    public static final int VERSION = 1;
    public static final int NONCE_BYTES = 32;
    public static final int HMAC_BYTES = 32;
    private static final byte[] CONTEXT = "ferry-migration-v1".getBytes(StandardCharsets.US_ASCII);

    private Handshake() {
    }

    /** The source's claim: which job, and the proof it knows the job's secret. */
    public record Proof(UUID jobId, byte[] hmac) {
    }

    public static void writeHello(ByteBuf out, byte[] nonce) {
        if (nonce.length != NONCE_BYTES) {
            throw new IllegalArgumentException("nonce must have " + NONCE_BYTES + " bytes");
        }
        out.writeInt(MAGIC);
        out.writeByte(VERSION);
        out.writeBytes(nonce);
    }

    /** The nonce, or null while the HELLO is incomplete. */
    public static byte[] readHello(ByteBuf in) {
        if (in.readableBytes() < 5 + NONCE_BYTES) {
            return null;
        }
        int magic = in.readInt();
        if (magic != MAGIC) {
            throw new StreamFormatException("peer is not a Ferry data plane (magic 0x" + Integer.toHexString(magic) + ")");
        }
        int version = in.readUnsignedByte();
        if (version != VERSION) {
            throw new StreamFormatException("unsupported handshake version " + version);
        }
        byte[] nonce = new byte[NONCE_BYTES];
        in.readBytes(nonce);
        return nonce;
    }

    public static void writeProof(ByteBuf out, UUID jobId, byte[] hmac) {
        out.writeLong(jobId.getMostSignificantBits());
        out.writeLong(jobId.getLeastSignificantBits());
        out.writeBytes(hmac);
    }

    /** The proof, or null while it is incomplete. */
    public static Proof readProof(ByteBuf in) {
        if (in.readableBytes() < 16 + HMAC_BYTES) {
            return null;
        }
        UUID jobId = new UUID(in.readLong(), in.readLong());
        byte[] hmac = new byte[HMAC_BYTES];
        in.readBytes(hmac);
        return new Proof(jobId, hmac);
    }

    public static void writeVerdict(ByteBuf out, boolean accepted) {
        out.writeByte(accepted ? 0 : 1);
    }

    /** True accepted, false refused, null while not yet received. */
    public static Boolean readVerdict(ByteBuf in) {
        if (!in.isReadable()) {
            return null;
        }
        return in.readByte() == 0;
    }

    public static byte[] proof(byte[] secret, byte[] nonce, UUID jobId) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(CONTEXT);
            mac.update(nonce);
            mac.update(ByteBuffer.allocate(16).putLong(jobId.getMostSignificantBits())
                    .putLong(jobId.getLeastSignificantBits()).flip());
            return mac.doFinal();
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Constant-time check of a presented proof. */
    public static boolean verify(byte[] secret, byte[] nonce, UUID jobId, byte[] presented) {
        return MessageDigest.isEqual(proof(secret, nonce, jobId), presented);
    }
}
