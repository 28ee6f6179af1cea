package io.ferry.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commits an incoming guest's memory in the background, front first, while the source does its
 * setup and the first pages travel (QEMU's {@code -mem-prealloc} on the destination). Memory a
 * host has not used for a while is costly to touch the first time — on a VM the hypervisor backs
 * it lazily: measured 1.3–2.9 s per GiB on our 2-core test machine, twenty times what the copy
 * that fills it costs — and without this the receive path pays that for every fresh page.
 *
 * <p>Safe beside the writes it races with: {@code MADV_POPULATE_WRITE} changes no byte. Bounded:
 * a guest larger than what the host has available (less a margin) is not pre-faulted at all, so
 * a sparse guest stays sparse. {@link #close()} waits for the threads, so memory is never freed
 * under them.
 */
final class MemoryPrefault implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MemoryPrefault.class);
    /** Small enough that a close waits briefly, large enough that the madvise calls cost nothing. */
    static final long PIECE_BYTES = 32L << 20;
    /** What the host keeps for everything else: the larger of this and a tenth of what is available. */
    private static final long MARGIN_BYTES = 1L << 30;

    /** A range of guest memory: {@code address}, {@code length}. */
    record Range(long address, long length) {
    }

    private final List<Range> pieces;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicLong committed = new AtomicLong();
    private final Thread[] threads;
    private final AtomicInteger running;
    /** Completes with the bytes committed once every thread is done (all of it, or stopped early). */
    private final java.util.concurrent.CompletableFuture<Long> done = new java.util.concurrent.CompletableFuture<>();
    private volatile boolean stopped;

    private MemoryPrefault(List<Range> pieces, int threadCount, String name) {
        this.pieces = pieces;
        this.threads = new Thread[threadCount];
        this.running = new AtomicInteger(threadCount);
        for (int i = 0; i < threadCount; i++) {
            threads[i] = new Thread(this::work, "prefault-" + name + "-" + i);
            threads[i].setDaemon(true);
        }
    }

    /**
     * Starts committing {@code ranges} in {@link #PIECE_BYTES} pieces, in order, on up to two
     * threads; null (nothing started) when the host cannot spare the memory.
     */
    static MemoryPrefault start(List<Range> ranges, String name) {
        long total = ranges.stream().mapToLong(Range::length).sum();
        long available = availableBytes();
        if (available >= 0 && total > available - Math.max(MARGIN_BYTES, available / 10)) {
            log.info("guest {}: {} MiB of memory not pre-faulted: the host has {} MiB available", name, total >> 20,
                    available >> 20);
            return null;
        }
        List<Range> pieces = new java.util.ArrayList<>();
        for (Range range : ranges) {
            for (long offset = 0; offset < range.length(); offset += PIECE_BYTES) {
                pieces.add(new Range(range.address() + offset, Math.min(PIECE_BYTES, range.length() - offset)));
            }
        }
        int threadCount = Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors()));
        MemoryPrefault prefault = new MemoryPrefault(List.copyOf(pieces), Math.min(threadCount, pieces.size()), name);
        for (Thread thread : prefault.threads) {
            thread.start();
        }
        return prefault;
    }

    private void work() {
        long started = System.nanoTime();
        try {
            for (int i = next.getAndIncrement(); i < pieces.size() && !stopped; i = next.getAndIncrement()) {
                Range piece = pieces.get(i);
                if (!MemoryAdvice.populateWrite(piece.address(), piece.length())) {
                    stopped = true;   // an older kernel (before 5.14) or no libc: pages fault in as they arrive
                    log.debug("MADV_POPULATE_WRITE refused: guest memory is not pre-faulted");
                    return;
                }
                committed.addAndGet(piece.length());
            }
            log.debug("{} done after {} ms", Thread.currentThread().getName(),
                    (System.nanoTime() - started) / 1_000_000);
        } finally {
            if (running.decrementAndGet() == 0) {
                done.complete(committed.get());
            }
        }
    }

    /** Completes with the bytes committed once the pre-fault is over (whole, or stopped early). */
    java.util.concurrent.CompletableFuture<Long> done() {
        return done;
    }

    /** Bytes committed so far. */
    long committedBytes() {
        return committed.get();
    }

    /** Stops after the pieces in progress and waits for them. */
    @Override
    public void close() {
        stopped = true;
        boolean interrupted = false;
        for (Thread thread : threads) {
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;   // never free memory a thread may still be advising
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** MemAvailable from /proc/meminfo, in bytes; -1 where it cannot be read. */
    private static long availableBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            log.debug("cannot read /proc/meminfo: {}", e.toString());
        }
        return -1;
    }
}
