/**
 * Relaying a real QEMU's migration stream between two hosts over Ferry's data plane, reading it
 * on the way: the data-plane core of migrating a QEMU guest through Ferry. No Spring, no JPA;
 * QMP (migrate, migrate-incoming, migrate_cancel) is the caller's.
 *
 * <pre>
 *  source QEMU ─migrate unix:─► SourceRelay ══ data plane (QEMU_STREAM, job secret, TLS) ══► DestinationRelay ─► destination QEMU
 *                                  │ StreamTee                                                                (-incoming defer,
 *                                  └─► StreamDecoder → StreamProgress                                         migrate-incoming unix:)
 *  source QEMU ◄──────────── QEMU's return path, bytes as they come, same two connections ◄──────────────── destination QEMU
 * </pre>
 *
 * <h2>What is checked, what is only counted, and why</h2>
 *
 * <p>QEMU's stream has no framing: a reader must understand every element to find the next. Ferry's
 * {@link io.ferry.wire.StreamDecoder} understands all of it except QEMU's device state, whose
 * VMState fields carry no lengths; their layout is in the vmdesc JSON that QEMU writes after EOF.
 * So {@link io.ferry.migration.qemu.StreamTee}, on the source relay:
 * <ul>
 *   <li><b>checks exactly</b>, before a byte of it goes on: the header and configuration (magic,
 *       version, machine type, subsections), the commands (OPEN_RETURN_PATH, PING, ...), every
 *       {@code ram} section: its START block list (lengths add up), every record's flags and
 *       offset against its block, CONTINUE against the last block, XBZRLE encodings whole, EOS,
 *       section ids and footers. It forwards only up to the end of the last element the decoder
 *       accepted (at most one page record is ever held back);</li>
 *   <li><b>holds, then checks against the vmdesc</b>: the device-state tail, from the first FULL
 *       section to EOF. QEMU writes the tail, EOF and the vmdesc at switchover in one burst, so the
 *       tee holds those bytes (tens of KiB for a pc machine, 64 MiB at most) until the bytes
 *       received end with {@code 0x00 EOF | 0x06 | be32 n | JSON}; then every FULL section must be
 *       listed in the JSON (idstr, instance, version), be exactly as long as the JSON's field sizes
 *       add up to, have each top-level subsection header ({@code 0x05}, name, version) where the
 *       JSON puts it, and end with its footer; EOF and the vmdesc frame must follow. Only then does
 *       the tail go on, whole or not at all;</li>
 *   <li><b>only counts</b>: post-copy's PACKAGED command (QEMU's switch to post-copy: LISTEN, the
 *       device state, PINGs and RUN in one length-prefixed blob, with no vmdesc in a post-copy
 *       stream to describe that state): its length is checked against nothing but the stream that
 *       follows it, which must again read as RAM sections and EOF; page contents (no checksum
 *       exists in the stream); and the values of device fields (a VMState field's value cannot be told right from wrong without the device
 *       model; the destination QEMU's own post-load checks judge those). The vmdesc comes from the
 *       same QEMU as the state it describes, so the tail check finds a stream whose structure is
 *       broken, not a state crafted to agree with its own description.</li>
 * </ul>
 * Whatever the decoder refuses stops the relay before the refused element: nothing at or after
 * the refusal offset reaches the destination QEMU (which then fails on a truncated stream instead
 * of loading it), both connections close, and the relay fails with the decoder's reason and the
 * stream offset ({@link io.ferry.migration.qemu.RelayFailure}). The source QEMU's migration fails
 * and its guest stays where it was.
 *
 * <p>Progress ({@link io.ferry.migration.qemu.StreamProgress}) is read off the stream: bytes,
 * PAGE/ZERO/XBZRLE records (equal to QEMU's {@code ram.normal} and {@code ram.duplicate}), RAM
 * section bytes (QEMU's {@code ram.transferred}, within its accounting of headers), RAM sections
 * (START, one PART per iteration, END), passes over memory (an estimate: the page position going
 * backwards), device sections and tail bytes.
 *
 * <h2>Return path and post-copy</h2>
 * QEMU's return path (OPEN_RETURN_PATH, then PONG, SHUT, post-copy's page requests) runs back over
 * the same two connections as bytes, unread: the source QEMU with {@code return-path} completes
 * only once the destination QEMU's SHUT came back. Post-copy ({@code postcopy-ram} on both QEMUs,
 * then {@code migrate-start-postcopy}) goes through: ADVISE and the RAM discards are checked, the
 * package is counted, the pages after it are checked as in pre-copy.
 *
 * <h2>Not relayed (refused with a reason)</h2>
 * Multifd and the post-copy preempt channel: a second connection to the relay's socket is
 * refused; post-copy recovery (a new connection after a break): the relay has failed by then;
 * machines with {@code suppress-vmdesc}: the device tail cannot be checked.
 */
package io.ferry.migration.qemu;
