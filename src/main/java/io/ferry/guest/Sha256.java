package io.ferry.guest;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256, as every checksum of a guest is taken. */
public final class Sha256 {

    private Sha256() {
    }

    /** SHA-256 of a whole file, lowercase hex. Not a snapshot: hold its writers still first. */
    public static String file(java.nio.file.Path path) throws java.io.IOException {
        MessageDigest digest = newDigest();
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(path)) {
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(1 << 20);
            while (channel.read(buffer.clear()) >= 0) {
                digest.update(buffer.flip());
            }
        }
        return java.util.HexFormat.of().formatHex(digest.digest());
    }

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK provides SHA-256", e);
        }
    }
}
