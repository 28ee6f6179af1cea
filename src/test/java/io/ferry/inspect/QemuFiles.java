package io.ferry.inspect;

import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.stream.Stream;

/** The real QEMU 7.2 streams of {@code ../shared/testdata/qemu/MANIFEST.md}, and checksums of file ranges. */
final class QemuFiles {

    /** Beside the project as `../shared` (the workplace layout); FERRY_QEMU_TESTDATA overrides. */
    private static final Path DIR = Stream.of(System.getenv("FERRY_QEMU_TESTDATA"), "../shared/testdata/qemu",
                    "/work/shared/testdata/qemu")
            .filter(Objects::nonNull).map(Path::of).filter(Files::isDirectory).findFirst()
            .orElse(Path.of("../shared/testdata/qemu"));

    static final String NONE_2M = "none-2M-halfrandom.qemu";
    static final String PC_64M = "pc-64M-mostlyzero.qemu";
    /** MANIFEST: the 2 MiB of block m0. */
    static final String NONE_2M_M0_SHA256 = "9e3c8e03241cae56c307be9cef2b6268a024ff496d6a04af49bd564d8ba64d1f";
    /** MANIFEST: bytes 0x100000..0x10FFFF of pc.ram. */
    static final String PC_64M_BLOB_SHA256 = "97d20438561116864c909da482ffd059896d8597b359f33801a58c7be0c1dbd8";

    private QemuFiles() {
    }

    /** The file, or the test is skipped where the test data is not there. */
    static Path file(String name) {
        Path file = DIR.resolve(name);
        assumeThat(Files.isReadable(file)).as("test stream %s present", file).isTrue();
        return file;
    }

    static String sha256(Path file, long from, long length) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(from);
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(in.readNBytes(Math.toIntExact(length)));
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
