package io.ferry.migration;

import io.ferry.bench.GuestContent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.channel.CompressionMethod;
import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.MigrationSettings;
import io.ferry.channel.StorageMode;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlock;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.loopback.LoopbackMigration;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Multifd compression end to end, checked on bytes: a guest that keeps writing into text-like
 * (compressible) memory migrates with zstd and lz4 at two levels each, over one channel and
 * several, and its destination memory's checksum equals the source's; the source's figures say
 * the link carried fewer bytes than the pages, and zero pages were not compressed.
 */
class CompressionEngineTest {

    private static final long MIB = 1L << 20;

    @TempDir
    Path datastore;

    @ParameterizedTest(name = "{0} level {1} on {2} channel(s)")
    @CsvSource({"ZSTD, 1, 1", "ZSTD, 3, 4", "LZ4, 1, 2", "LZ4, 9, 1"})
    void aWritingGuestMigratesByteExact(CompressionMethod method, int level, int channels) throws Exception {
        // 1000 pages/s (4 MB/s): well under what even lz4-9 on one loaded core compresses (about 10 MB/s),
        // so the job converges whatever the machine's speed; at 5000 pages/s a loaded machine's lz4-9
        // fell behind the guest and the job never converged
        GuestSpec spec = EngineGuests.twoBlocks(48 * MIB, new WorkloadSpec(1000, 0.5, 0, 3));
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration().channels(channels)) {
            loopback.convergence(compressing(
                    new ConvergenceSettings.Compression(method, level)));
            GuestContent.fillText(source.memory().blocks().get(0), 11);
            // a limited link makes several rounds (each with its sync point) while the guest writes
            MigrationReport report = loopback.run(source, destination, 64 * MIB, 300, true, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(destination.state()).isEqualTo(GuestState.RUNNING);
            assertThat(EngineGuests.destinationMemory(loopback)).isEqualTo(report.progress().verification().sourceMemory());

            MigrationProgress.Ram ram = report.progress().ram();
            MigrationProgress.Compression compression = report.progress().convergence().compression();
            assertThat(compression.method()).isEqualTo(method.apiName());
            assertThat(compression.pages()).as("every normal page went compressed").isEqualTo(ram.normal());
            assertThat(compression.bytesIn()).isEqualTo(compression.pages() * 4096);
            assertThat(compression.bytesOut()).as("text compresses").isLessThan(compression.bytesIn() * 2 / 3);
            assertThat(compression.ratio()).isEqualTo((double) compression.bytesIn() / compression.bytesOut());
            assertThat(ram.duplicate()).as("zero pages went as offsets, not compressed").isPositive();
            assertThat(ram.transferred()).as("the link carried the compressed bytes")
                    .isLessThan(compression.bytesIn());
        }
    }

    @Test
    void withoutCompressionTheFiguresAreAbsent() throws Exception {
        GuestSpec spec = EngineGuests.twoBlocks(16 * MIB, WorkloadSpec.idle());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration().channels(2)) {
            GuestContent.fillText(source.memory().blocks().get(0), 1);
            MigrationReport report = loopback.run(source, destination, 0, 300, true, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(report.progress().convergence()).as("no tool, no figures").isNull();
        }
    }

    @Test
    void compressionNeedsMultifdAndExcludesPostcopy() {
        MigrationSettings zstdOneChannel = settings(MigrationSettings.PostcopySettings.OFF, 1, CompressionMethod.ZSTD);
        assertThat(PageChannels.of(zstdOneChannel)).isEqualTo(new PageChannels(1, CompressionMethod.ZSTD));
        assertThat(PageChannels.of(zstdOneChannel).multifd()).isTrue();
        assertThat(PageChannels.of(settings(MigrationSettings.PostcopySettings.OFF, 1, CompressionMethod.NONE))
                .multifd()).isFalse();
        assertThat(PageChannels.of(settings(MigrationSettings.PostcopySettings.OFF, 3, CompressionMethod.NONE))
                .multifd()).isTrue();
        MigrationSettings.PostcopySettings postcopy = postcopyOn();
        assertThat(PageChannels.of(settings(postcopy, 4, CompressionMethod.NONE)))
                .as("multifd for the pre-copy rounds, as QEMU from 10.0").isEqualTo(new PageChannels(4, CompressionMethod.NONE));
        assertThatThrownBy(() -> PageChannels.of(settings(postcopy, 4, CompressionMethod.LZ4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("post-copy");
    }

    private static MigrationSettings.PostcopySettings postcopyOn() {
        return new MigrationSettings.PostcopySettings(true, 1, false, 0);
    }

    private static ConvergenceSettings compressing(ConvergenceSettings.Compression compression) {
        return new ConvergenceSettings(ConvergenceSettings.AutoConverge.OFF, ConvergenceSettings.Xbzrle.OFF,
                compression);
    }

    private static MigrationSettings settings(MigrationSettings.PostcopySettings postcopy, int channels,
                                              CompressionMethod method) {
        ConvergenceSettings convergence = compressing(method == CompressionMethod.NONE
                ? ConvergenceSettings.Compression.NONE : new ConvergenceSettings.Compression(method, 1));
        return new MigrationSettings(0, 300, false, StorageMode.SHARED, postcopy, channels, convergence);
    }
}
