package io.ferry.guest;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * The device-state blob: what QEMU would send as vmstate after RAM at switchover. Its content
 * is seeded noise, except for a write counter the workload bumps, so the blob changes while the
 * guest runs and a lost final device-state record shows up in the checksum.
 *
 * <pre>
 *   byte 0 .. min(8, n) - 1   write counter, little-endian, truncated to the blob size
 *   the rest                  bytes from a random stream seeded by the workload seed
 * </pre>
 */
final class DeviceState {

    // Keeps the blob's stream apart from the workload's SplittableRandom(seed).
    private static final long SEED_SALT = 0x6465766963657374L;

    private final byte[] bytes; // guarded by this

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

    synchronized byte[] copy() {
        return bytes.clone();
    }

    synchronized void load(byte[] state) {
        if (state.length != bytes.length) {
            throw new IllegalArgumentException("device state must be " + bytes.length + " bytes, got " + state.length);
        }
        System.arraycopy(state, 0, bytes, 0, bytes.length);
    }

    synchronized String sha256() {
        MessageDigest digest = Sha256.newDigest();
        return HexFormat.of().formatHex(digest.digest(bytes));
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
