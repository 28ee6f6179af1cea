/**
 * {@code ferry inspect}: reads a migration stream saved to a file (QEMU's stream version 3, as QEMU
 * or Ferry wrote it) through the wire decoder and tells what is in it ({@link io.ferry.inspect.StreamSummary}),
 * or writes its RAM blocks and disk images out. Files only: nothing here knows sockets or the engine.
 */
package io.ferry.inspect;
