/**
 * Saving a synthetic guest to a file in QEMU's migration stream format (version 3) and restoring
 * it: {@link io.ferry.snapshot.GuestSnapshotWriter} writes a paused guest whole (RAM blocks,
 * disks as QEMU's block section, Ferry's device state and layout sections, and QEMU's JSON
 * description after EOF), {@link io.ferry.snapshot.GuestSnapshotReader} builds a new guest from
 * such a file or refuses it, and {@link io.ferry.snapshot.QemuPcSave} writes a guest's memory as
 * a stream QEMU 7.2's {@code pc} machine loads.
 *
 * <p>Files only: the wire codec and the guest, nothing of sockets, the engine or Spring.
 */
package io.ferry.snapshot;
