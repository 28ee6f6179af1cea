package io.ferry.guest;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What guest memory asks of Linux through {@code madvise}, as QEMU does for guest RAM. Best
 * effort: elsewhere, on an older kernel, or if libc cannot be reached, nothing changes.
 * <ul>
 *   <li>{@link #hugePages}: {@code MADV_HUGEPAGE}, so touching a fresh gigabyte (an incoming guest
 *   being filled, or a zero scan) takes 512 times fewer page faults. Untouched memory stays
 *   uncommitted.</li>
 *   <li>{@link #populateWrite}: {@code MADV_POPULATE_WRITE} (Linux 5.14), QEMU's {@code -mem-prealloc}:
 *   commits the range now, as writable, without changing a byte of it — so it may run while pages
 *   are being written into the same range.</li>
 * </ul>
 */
final class MemoryAdvice {

    private static final Logger log = LoggerFactory.getLogger(MemoryAdvice.class);
    private static final int MADV_HUGEPAGE = 14;
    private static final int MADV_POPULATE_WRITE = 23;
    private static final long PAGE = 4096;
    private static final LibC LIBC = load();

    interface LibC extends Library {
        int madvise(Pointer address, long length, int advice);
    }

    private MemoryAdvice() {
    }

    private static LibC load() {
        if (!Platform.isLinux()) {
            return null;
        }
        try {
            return Native.load("c", LibC.class);
        } catch (Throwable e) {
            log.info("madvise not reachable: guest memory gets neither huge pages nor pre-faulting: {}", e.toString());
            return null;
        }
    }

    static void hugePages(long address, long length) {
        if (!advise(address, length, MADV_HUGEPAGE)) {
            log.debug("madvise(MADV_HUGEPAGE) refused for {} bytes", length);
        }
    }

    /** Commits {@code [address, address + length)} without changing it; false when the kernel cannot. */
    static boolean populateWrite(long address, long length) {
        return advise(address, length, MADV_POPULATE_WRITE);
    }

    private static boolean advise(long address, long length, int advice) {
        if (LIBC == null) {
            return false;
        }
        long start = (address + PAGE - 1) & -PAGE;
        long end = (address + length) & -PAGE;
        return end <= start || LIBC.madvise(new Pointer(start), end - start, advice) == 0;
    }
}
