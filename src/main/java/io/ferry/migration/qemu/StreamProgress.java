package io.ferry.migration.qemu;

/**
 * What a {@link StreamTee} has read of a QEMU stream so far; an immutable snapshot.
 *
 * @param receivedBytes    bytes QEMU wrote into the relay
 * @param forwardedBytes   bytes passed on towards the destination QEMU (checked ones only)
 * @param machineType      from the configuration section, null until it was read
 * @param ramBlocks        RAM blocks the {@code ram} START section announced
 * @param ramTotalBytes    their summed length
 * @param normalPages      PAGE records (a whole target page of data each; QEMU's {@code ram.normal})
 * @param zeroPages        ZERO records (QEMU's {@code ram.duplicate})
 * @param xbzrlePages      XBZRLE records
 * @param ramSectionBytes  bytes of the {@code ram} sections, headers and footers included
 * @param ramSections      {@code ram} sections read: START, then one PART per iteration, then END
 * @param ramPasses        passes over guest memory: 1 at the first page, plus 1 each time the page
 *                         position goes backwards (QEMU wrapped round its dirty bitmap). An
 *                         estimate of QEMU's rounds read off the stream, not QEMU's own counter
 * @param deviceSections   FULL (device state) sections checked against the vmdesc
 * @param deviceBytes      bytes of the device-state tail, from the first FULL section to the end
 * @param postcopyPackageBytes bytes of post-copy's PACKAGED command (LISTEN, device state, RUN), passed
 *                         on counted only: QEMU sends no vmdesc to describe that device state
 * @param heldBytes        bytes received and not yet forwarded: a partial element, or the device
 *                         tail waiting for the vmdesc that describes it
 * @param endOfStream      the EOF byte was read
 * @param vmDescription    the vmdesc JSON was read and the device tail checked against it
 */
public record StreamProgress(long receivedBytes, long forwardedBytes, String machineType, int ramBlocks,
                             long ramTotalBytes, long normalPages, long zeroPages, long xbzrlePages,
                             long ramSectionBytes, long ramSections, long ramPasses, int deviceSections,
                             long deviceBytes, long postcopyPackageBytes, long heldBytes, boolean endOfStream, boolean vmDescription) {

    static final StreamProgress NONE = new StreamProgress(0, 0, null, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false,
            false);
}
