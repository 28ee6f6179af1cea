package io.ferry.migration.loopback;

import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlock;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One small migration inside this process, before it takes real ones: the engine's hot paths
 * (page scan, multifd framing, the decoder, placement into guest memory, the digests) are
 * compiled by the JIT on a throw-away guest instead of on a customer's first migration, which
 * otherwise pays seconds of interpreted and half-compiled code on both hosts.
 *
 * <p>This is the one production use of the loopback wiring: the guests, the connection and the
 * ownership record are all private to the warm-up and gone when it returns. A failure is logged
 * and changes nothing: the worker is only slower on its first migration.
 */
public final class EngineWarmUp {

    private static final Logger log = LoggerFactory.getLogger(EngineWarmUp.class);
    /** Enough pages for the hot loops to reach the optimising compiler (about 10 000 calls or loop turns). */
    public static final int DEFAULT_MIB = 64;
    /** Several channels, as a job's default: the multifd paths are the hot ones. */
    private static final int CHANNELS = 2;
    /** Rounds of the warm-up migration: the optimising compiler works on the first one's profile. */
    private static final int ROUNDS = 2;

    /** How long the compiler must have finished nothing for the warm-up to be over (one big method can take a few hundred ms). */
    private static final long COMPILER_QUIET_MS = 500;
    private static final long COMPILER_QUIET_MAX_NANOS = 10_000_000_000L;

    /** What the warm-up did: how long it took, and whether its migration completed. */
    public record Result(long millis, boolean completed, String detail) {
    }

    private EngineWarmUp() {
    }

    /**
     * Migrates a guest of {@code bytes} (random and zero pages, see {@link #fillMixed}; verified
     * by checksum) over two connections on loopback, twice, in a temporary directory under
     * {@code parent}, both sides with {@code security} (a worker's own: its TLS path is warmed too).
     */
    public static Result run(Path parent, long bytes, DataPlaneSecurity security) {
        long start = System.nanoTime();
        Path datastore = null;
        try {
            Files.createDirectories(parent);
            datastore = Files.createTempDirectory(parent, "engine-warm-up-");
            MigrationReport report = null;
            try (LoopbackMigration loopback = new LoopbackMigration(security, security).channels(CHANNELS)) {
                for (int round = 0; round < ROUNDS; round++) {
                    report = once(loopback, datastore, bytes);
                    if (report == null || report.phase() != MigrationPhase.COMPLETED) {
                        break;
                    }
                }
            }
            awaitCompilerQuiet();
            long millis = (System.nanoTime() - start) / 1_000_000;
            boolean completed = report != null && report.phase() == MigrationPhase.COMPLETED;
            String detail = report == null ? "no final report" : report.phase().wireName() + ": " + report.reason();
            if (completed) {
                log.info("engine warmed up in {} ms ({} MiB x {} on {} channel(s), {})", millis, bytes >> 20, ROUNDS,
                        CHANNELS, security);
            } else {
                log.warn("engine warm-up did not complete ({}); the first migration will be slower", detail);
            }
            return new Result(millis, completed, detail);
        } catch (Exception e) {
            log.warn("engine warm-up failed ({}); the first migration will be slower", e.toString());
            return new Result((System.nanoTime() - start) / 1_000_000, false, e.toString());
        } finally {
            if (datastore != null) {
                deleteQuietly(datastore);
            }
        }
    }

    /**
     * The optimising compiler goes on compiling what the warm-up made hot for a while after it
     * ends, on the same cores a migration needs: wait until it has been idle for a moment (at
     * most a few seconds; where the JVM does not say, not at all).
     */
    private static void awaitCompilerQuiet() throws InterruptedException {
        CompilationMXBean compiler = ManagementFactory.getCompilationMXBean();
        if (compiler == null || !compiler.isCompilationTimeMonitoringSupported()) {
            return;
        }
        long deadline = System.nanoTime() + COMPILER_QUIET_MAX_NANOS;
        long last = compiler.getTotalCompilationTime();
        while (System.nanoTime() < deadline) {
            Thread.sleep(COMPILER_QUIET_MS);
            long now = compiler.getTotalCompilationTime();
            if (now == last) {
                return;
            }
            last = now;
        }
    }

    private static MigrationReport once(LoopbackMigration loopback, Path datastore, long bytes) throws Exception {
        GuestSpec spec = new GuestSpec(UUID.randomUUID().toString(), List.of(new RamBlockSpec("pc.ram", bytes)),
                List.of(), 4096, WorkloadSpec.idle());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED)) {
            fillMixed(source.memory().blocks().get(0));
            source.pause();
            return loopback.run(source, destination, 0, 1_000, true, null);
        }
    }

    /**
     * The shapes a guest's memory has, so that the compiler's profile has seen every branch a
     * real migration takes: a long run of random pages (full multifd packets), a long run of zero
     * pages, then runs of 16 of each alternating (partly filled packets, page-run borders).
     */
    private static void fillMixed(RamBlock block) {
        SplittableRandom random = new SplittableRandom(7);
        byte[] bytes = new byte[RamBlock.PAGE_SIZE];
        ByteBuf page = Unpooled.wrappedBuffer(bytes);
        long pages = block.pageCount();
        for (long p = 0; p < pages; p++) {
            boolean randomPage = p < pages / 2 || p >= pages * 3 / 4 && (p / 16) % 2 == 0;
            if (randomPage) {
                random.nextBytes(bytes);
                block.writePage(p, page, 0);
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException e) {
            log.debug("could not remove {}: {}", dir, e.toString());
        }
    }
}
