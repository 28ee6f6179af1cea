package io.ferry.guest;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * The device-state blob: what QEMU would send as vmstate after RAM at switchover. Its content
 * is seeded noise, except for a write counter the workload bumps, so the blob changes while the
 * guest runs and a lost final device-state record shows up in the checksum. After the blob of
 * the spec's size comes the disk controller's state: the number of disk writes acknowledged
 * to the guest, which numbers the next one ({@link DiskWritePattern}).
 *
 * <pre>
 *   byte 0 .. min(8, n) - 1   write counter, little-endian, truncated to the blob size
 *   the rest of n bytes       bytes from a random stream seeded by the workload seed
 *   byte n .. n + 7           disk writes acknowledged, little-endian
 * </pre>
 */
final class DeviceState {

    // Keeps the blob's stream apart from the workload's SplittableRandom(seed).
    private static final long SEED_SALT = 0x6465766963657374L;

    /** Bytes after the blob: the acknowledged disk-write count. */
    static final int TRAILER_BYTES = Long.BYTES;

    private final byte[] bytes; // guarded by this
    private long diskWrites;    // guarded by this

    DeviceState(int size, long seed) {
        bytes = new byte[size];
        new SplittableRandom(seed ^ SEED_SALT).nextBytes(bytes);
        setCounter(0);
    }

    synchronized void bumpCounter(long writes) {
        setCounter(counter() + writes);
    }

    synchronized long counter() {
        long value = 0;
        for (int i = Math.min(Long.BYTES, bytes.length) - 1; i >= 0; i--) {
            value = (value << 8) | (bytes[i] & 0xff);
        }
        return value;
    }

    synchronized long diskWrites() {
        return diskWrites;
    }

    /** Records that write {@code n} was acknowledged to the guest; writes are acknowledged in order. */
    synchronized void diskWriteAcknowledged(long n) {
        if (n != diskWrites + 1) {
            throw new IllegalStateException("disk write " + n + " acknowledged after " + diskWrites);
        }
        diskWrites = n;
    }

    /** The blob and its trailer, as a migration sends it. */
    synchronized byte[] copy() {
        byte[] state = Arrays.copyOf(bytes, bytes.length + TRAILER_BYTES);
        for (int i = 0; i < TRAILER_BYTES; i++) {
            state[bytes.length + i] = (byte) (diskWrites >>> (8 * i));
        }
        return state;
    }

    synchronized void load(byte[] state) {
        if (state.length != bytes.length + TRAILER_BYTES) {
            throw new IllegalArgumentException("device state must be " + (bytes.length + TRAILER_BYTES)
                    + " bytes, got " + state.length);
        }
        System.arraycopy(state, 0, bytes, 0, bytes.length);
        long writes = 0;
        for (int i = TRAILER_BYTES - 1; i >= 0; i--) {
            writes = (writes << 8) | (state[bytes.length + i] & 0xff);
        }
        diskWrites = writes;
    }

    synchronized String sha256() {
        MessageDigest digest = Sha256.newDigest();
        return HexFormat.of().formatHex(digest.digest(copy()));
    }

    int size() {
        return bytes.length;
    }

    private void setCounter(long value) {
        for (int i = 0; i < Math.min(Long.BYTES, bytes.length); i++) {
            bytes[i] = (byte) (value >>> (8 * i));
        }
    }
}
