package io.ferry.wire;

import java.util.HashMap;
import java.util.Map;

/**
 * Hard limits of one decoder and the FULL sections it accepts. Every length read from the
 * wire is checked against these before anything is allocated or consumed.
 */
public record DecoderLimits(int maxRamBlocks, int maxMachineTypeLength, int maxVmDescriptionBytes,
                            Map<String, DeviceSectionFormat> deviceSections) {

    public static final int DEFAULT_MAX_DEVICE_STATE_BYTES = 16 << 20;

    public DecoderLimits {
        deviceSections = Map.copyOf(deviceSections);
    }

    /** 64 RAM blocks, 256-byte machine type, Ferry's device state up to 16 MiB. */
    public static DecoderLimits defaults() {
        return new DecoderLimits(64, 256, 16 << 20, Map.of(StreamFormat.DEVICE_STATE_SECTION,
                DeviceSectionFormat.lengthPrefixed(StreamFormat.DEVICE_STATE_SECTION, DEFAULT_MAX_DEVICE_STATE_BYTES)));
    }

    /** Also accepts a be32-length-prefixed FULL section {@code idstr} of at most {@code maxBytes}. */
    public DecoderLimits withDeviceSection(String idstr, int maxBytes) {
        return withDeviceSection(idstr, DeviceSectionFormat.lengthPrefixed(idstr, maxBytes));
    }

    public DecoderLimits withDeviceSection(String idstr, DeviceSectionFormat format) {
        Map<String, DeviceSectionFormat> sections = new HashMap<>(deviceSections);
        sections.put(idstr, format);
        return new DecoderLimits(maxRamBlocks, maxMachineTypeLength, maxVmDescriptionBytes, sections);
    }
}
