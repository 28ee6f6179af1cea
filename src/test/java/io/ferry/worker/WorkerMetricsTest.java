package io.ferry.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.DiskImage;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlock;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.loopback.LoopbackMigration;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's metrics against a real migration over loopback: the byte counters move by what
 * the engine sent, and the scrape shows them.
 */
class WorkerMetricsTest {

    private static final long MIB = 1L << 20;

    @TempDir
    Path sourceStore;

    @TempDir
    Path destinationStore;

    @Test
    void byteCountersShowWhatAMigrationOfARandomGuestSent() throws Exception {
        Random random = new Random(23);
        // no workload: every page and every image block is random (none is zero) and is sent exactly once
        GuestSpec spec = new GuestSpec(UUID.randomUUID().toString(),
                List.of(new RamBlockSpec("pc.ram", 12 * MIB), new RamBlockSpec("vga.vram", 4 * MIB)),
                List.of(new DiskSpec(UUID.randomUUID().toString(), "virtio-disk0", 3 * MIB + 8192)),
                4096, new WorkloadSpec(0, 0.5, 0, 1));
        WorkerMetrics metrics = new WorkerMetrics("host-t");
        try (SyntheticGuest source = SyntheticGuest.create(spec, sourceStore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, destinationStore,
                     SyntheticGuest.IncomingImages.COPY);
             LoopbackMigration loopback = new LoopbackMigration()) {
            byte[] page = new byte[RamBlock.PAGE_SIZE];
            for (RamBlock block : source.memory().blocks()) {
                for (long p = 0; p < block.pageCount(); p++) {
                    random.nextBytes(page);
                    block.writePage(p, Unpooled.wrappedBuffer(page));
                }
            }
            DiskImage image = source.disk(spec.disks().get(0).diskId());
            byte[] diskBlock = new byte[DiskImage.BLOCK_SIZE];
            for (long b = 0; b < image.blockCount(); b++) {
                random.nextBytes(diskBlock);
                image.write(b, ByteBuffer.wrap(diskBlock));
            }
            assertThat(scraped(metrics, "ferry_migration_sent_bytes_total", "ram")).isZero();

            loopback.countInto(metrics.transfers());
            MigrationReport report = loopback.run(source, destination, 0, 300, false, true, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            long memory = 16 * MIB;
            // every random page once, as full pages: exactly the engine's own normal-page count
            assertThat(metrics.transfers().bytes(io.ferry.migration.TransferMeter.Kind.RAM))
                    .isGreaterThanOrEqualTo(memory)
                    .isEqualTo(report.progress().ram().normalBytes());
            assertThat(scraped(metrics, "ferry_migration_sent_bytes_total", "ram")).isEqualTo(memory);
            // the image's data, its last chunk not padded
            assertThat(scraped(metrics, "ferry_migration_sent_bytes_total", "disk")).isEqualTo(3 * MIB + 8192);
            assertThat(scraped(metrics, "ferry_migration_sent_bytes_total", "device-state"))
                    .isEqualTo(source.deviceState().length)
                    .isPositive();
            assertThat(scraped(metrics, "ferry_migration_sent_bytes_total", "postcopy-requested")).isZero();
            // the stream is everything written: the engine's own total, more than the payload
            long stream = scraped(metrics, "ferry_migration_stream_bytes_total", null);
            assertThat(stream).isEqualTo(report.progress().ram().transferred())
                    .isGreaterThan(memory + 3 * MIB + 8192 + source.deviceState().length);
        }
    }

    @Test
    void faultLatenciesLandInTheirBuckets() {
        WorkerMetrics metrics = new WorkerMetrics("host-t");
        metrics.pageFaults(new long[] {80_000, 300_000, 700_000, 40_000_000});
        String text = metrics.scrape();
        assertThat(value(text, "ferry_postcopy_fault_latency_seconds_count\\{[^}]*}")).isEqualTo(4);
        assertThat(value(text, "ferry_postcopy_fault_latency_seconds_bucket\\{[^}]*le=\"1\\.0E-4\"[^}]*}"))
                .isEqualTo(1);
        assertThat(value(text, "ferry_postcopy_fault_latency_seconds_bucket\\{[^}]*le=\"0\\.001\"[^}]*}"))
                .isEqualTo(3);
        assertThat(value(text, "ferry_postcopy_fault_latency_seconds_bucket\\{[^}]*le=\"0\\.05\"[^}]*}"))
                .isEqualTo(4);
        assertThat(text).contains("host=\"host-t\"");
    }

    /** A series' value in the scrape; {@code kind} null for a series without that label. */
    private static long scraped(WorkerMetrics metrics, String name, String kind) {
        String labels = kind == null ? "\\{[^}]*}" : "\\{[^}]*kind=\"" + Pattern.quote(kind) + "\"[^}]*}";
        return value(metrics.scrape(), Pattern.quote(name) + labels);
    }

    private static long value(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + series + " (\\S+)$").matcher(text);
        assertThat(m.find()).as("%s in%n%s", series, text).isTrue();
        return (long) Double.parseDouble(m.group(1));
    }
}
