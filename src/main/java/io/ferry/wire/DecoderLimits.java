package io.ferry.wire;

/**
 * Hard limits a {@link StreamDecoder} enforces before it buffers or trusts a length read from the
 * stream, so a hostile or broken peer cannot make the destination hold unbounded memory.
 *
 * @param maxRamBlocks          most entries in the RAM block list
 * @param maxDeviceStateBytes   largest payload of one FULL (device) section, in bytes; the caller
 *                              must be ready to accumulate this much plus a few header bytes
 * @param maxMachineTypeLength  longest machine-type name in the configuration section
 * @param maxIdstrLength        longest section or RAM block idstr (at most 255: a counted string)
 * @param maxVmDescriptionBytes largest JSON description after EOF (skipped, never buffered)
 */
public record DecoderLimits(int maxRamBlocks, int maxDeviceStateBytes, int maxMachineTypeLength,
                            int maxIdstrLength, int maxVmDescriptionBytes) {

    // Headroom so that "limit + header + footer" never overflows an int.
    private static final int MAX_BUFFERED = Integer.MAX_VALUE - 1024;

    public DecoderLimits {
        require(maxRamBlocks, 1, 1 << 20, "maxRamBlocks");
        require(maxDeviceStateBytes, 0, MAX_BUFFERED, "maxDeviceStateBytes");
        require(maxMachineTypeLength, 1, 1 << 20, "maxMachineTypeLength");
        require(maxIdstrLength, 1, StreamFormat.MAX_COUNTED_STRING, "maxIdstrLength");
        require(maxVmDescriptionBytes, 0, Integer.MAX_VALUE, "maxVmDescriptionBytes");
    }

    /**
     * 64 RAM blocks (a QEMU pc machine has about ten), 16 MiB of state per device section, 256-byte
     * machine type, 255-byte idstrs, 16 MiB of vmdesc JSON.
     */
    public static DecoderLimits defaults() {
        return new DecoderLimits(64, 16 << 20, 256, StreamFormat.MAX_COUNTED_STRING, 16 << 20);
    }

    public DecoderLimits withMaxRamBlocks(int value) {
        return new DecoderLimits(value, maxDeviceStateBytes, maxMachineTypeLength, maxIdstrLength, maxVmDescriptionBytes);
    }

    public DecoderLimits withMaxDeviceStateBytes(int value) {
        return new DecoderLimits(maxRamBlocks, value, maxMachineTypeLength, maxIdstrLength, maxVmDescriptionBytes);
    }

    public DecoderLimits withMaxMachineTypeLength(int value) {
        return new DecoderLimits(maxRamBlocks, maxDeviceStateBytes, value, maxIdstrLength, maxVmDescriptionBytes);
    }

    public DecoderLimits withMaxIdstrLength(int value) {
        return new DecoderLimits(maxRamBlocks, maxDeviceStateBytes, maxMachineTypeLength, value, maxVmDescriptionBytes);
    }

    public DecoderLimits withMaxVmDescriptionBytes(int value) {
        return new DecoderLimits(maxRamBlocks, maxDeviceStateBytes, maxMachineTypeLength, maxIdstrLength, value);
    }

    private static void require(int value, int min, int max, String name) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + " must be in " + min + ".." + max + ", got " + value);
        }
    }
}
