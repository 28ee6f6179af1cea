package io.ferry.bench;

import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.loopback.LoopbackMigration;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry bench-disk}: block migration ({@code storage: copy}) of an image full of random
 * bytes over loopback, next to a plain copy of the same image file on the same disk, measured in
 * the same run. Both end with the copy forced to storage (fsync): a migration may not hand an
 * image over before it is durable, and a copy that is still in the page cache is not done.
 */
@Command(name = "bench-disk", mixinStandardHelpOptions = true,
        description = "Measure block migration (storage: copy) next to a plain file copy on the same disk.")
public final class BlockCopyBenchmark implements Callable<Integer> {

    private static final long MIB = 1L << 20;

    @Option(names = "--size", defaultValue = "1g", description = "Image size, e.g. 256m, 1g (default ${DEFAULT-VALUE})")
    String size;

    @Option(names = "--dir", description = "Folder on the disk to measure (default: a new temporary folder)")
    Path dir;

    @Option(names = "--repeat", defaultValue = "3",
            description = "Runs per case; the table shows the median run (default ${DEFAULT-VALUE})")
    int repeat;

    @Override
    public Integer call() throws Exception {
        long bytes = PrecopyBenchmark.parseSize(size);
        Path root = dir == null ? Files.createTempDirectory("ferry-bench-disk-") : Files.createDirectories(dir);
        Path sourceStore = Files.createDirectories(root.resolve("source"));
        Path destinationStore = Files.createDirectories(root.resolve("destination"));
        String diskId = UUID.randomUUID().toString();
        Path image = sourceStore.resolve(diskId + ".img");
        try {
            System.out.printf(Locale.ROOT, "Ferry block-migration benchmark, %d MiB image of random bytes in %s, "
                    + "%d cores%n%n", bytes / MIB, root, Runtime.getRuntime().availableProcessors());
            fillRandom(image, bytes);
            GuestSpec spec = new GuestSpec(UUID.randomUUID().toString(), List.of(new RamBlockSpec("pc.ram", 16 * MIB)),
                    List.of(new DiskSpec(diskId, "virtio-disk0", bytes)), 4096, WorkloadSpec.idle());

            // warm-up: JIT and page cache for both cases
            plainCopy(image, destinationStore.resolve("copy.img"));
            migrate(spec, sourceStore, destinationStore);
            List<Double> copies = new ArrayList<>();
            List<Double> migrations = new ArrayList<>();
            for (int i = 0; i < Math.max(1, repeat); i++) {
                copies.add(plainCopy(image, destinationStore.resolve("copy.img")));
                migrations.add(migrate(spec, sourceStore, destinationStore));
            }
            double copy = median(copies);
            double migration = median(migrations);
            System.out.printf(Locale.ROOT, "runs, in seconds: plain copy %s, block migration %s%n%n", copies,
                    migrations);
            String line = "%-52s %10s %10s %10s%n";
            System.out.printf(Locale.ROOT, line, "case", "time s", "MiB/s", "vs copy");
            System.out.printf(Locale.ROOT, line, "plain file copy + fsync, same disk", f(copy), f(bytes / MIB / copy),
                    "1.00");
            System.out.printf(Locale.ROOT, line, "block migration (storage: copy) + fsync, loopback", f(migration),
                    f(bytes / MIB / migration), f(copy / migration));
            System.out.printf(Locale.ROOT, "%nblock migration reached %.0f%% of a plain file copy (target >= 80%%)%n",
                    100 * copy / migration);
            return 0;
        } finally {
            try (var files = Files.walk(root)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void fillRandom(Path image, long bytes) throws IOException {
        SplittableRandom random = new SplittableRandom(1);
        ByteBuffer buffer = ByteBuffer.allocateDirect((int) MIB);
        try (FileChannel out = FileChannel.open(image, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long done = 0; done < bytes; done += MIB) {
                buffer.clear();
                while (buffer.hasRemaining()) {
                    buffer.putLong(random.nextLong());
                }
                buffer.flip().limit((int) Math.min(MIB, bytes - done));
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
            }
            out.force(false);
        }
    }

    /** What {@code cp} does (an in-kernel copy), then fsync. */
    private static double plainCopy(Path from, Path to) throws IOException {
        long start = System.nanoTime();
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            long size = in.size();
            for (long done = 0; done < size; ) {
                done += in.transferTo(done, size - done, out);
            }
            out.force(false);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Files.delete(to);
        return seconds;
    }

    /** One block migration of the image into a fresh copy; seconds from start to the destination's confirmation. */
    private static double migrate(GuestSpec spec, Path sourceStore, Path destinationStore) throws Exception {
        try (SyntheticGuest source = SyntheticGuest.create(spec, sourceStore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, destinationStore,
                     SyntheticGuest.IncomingImages.COPY);
             LoopbackMigration loopback = new LoopbackMigration()) {
            long start = System.nanoTime();
            MigrationReport report = loopback.run(source, destination, 0, 300, false, true, null);
            double seconds = (System.nanoTime() - start) / 1e9;
            if (!report.phase().equals(MigrationPhase.COMPLETED)) {
                throw new IllegalStateException("block migration " + report.phase() + ": " + report.reason());
            }
            destination.deleteImages();
            return seconds;
        }
    }

    private static double median(List<Double> runs) {
        return Quantiles.median(runs, Comparator.naturalOrder());
    }

    private static String f(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
