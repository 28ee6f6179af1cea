package io.ferry.guest;

import static io.ferry.guest.GuestFixtures.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GuestSpecTest {

    private static final List<RamBlockSpec> RAM = List.of(new RamBlockSpec("pc.ram", 16 * MIB));
    private static final List<DiskSpec> NO_DISKS = List.of();

    static Stream<Arguments> invalidSpecs() {
        return Stream.of(
                invalid("guestId", () -> new GuestSpec("", RAM, NO_DISKS, 1, WorkloadSpec.idle())),
                invalid("guestId", () -> new GuestSpec("../etc", RAM, NO_DISKS, 1, WorkloadSpec.idle())),
                invalid("ramBlocks", () -> new GuestSpec("g", List.of(), NO_DISKS, 1, WorkloadSpec.idle())),
                invalid("ramBlocks: duplicate block name 'pc.ram'", () -> new GuestSpec("g",
                        List.of(new RamBlockSpec("pc.ram", 8 * MIB), new RamBlockSpec("pc.ram", 8 * MIB)),
                        NO_DISKS, 1, WorkloadSpec.idle())),
                invalid("ramBlocks: total memory", () -> new GuestSpec("g",
                        List.of(new RamBlockSpec("pc.ram", 8 * MIB)), NO_DISKS, 1, WorkloadSpec.idle())),
                invalid("ramBlocks: total memory", () -> new GuestSpec("g",
                        List.of(new RamBlockSpec("pc.ram", 64L << 30), new RamBlockSpec("rom", 4096)),
                        NO_DISKS, 1, WorkloadSpec.idle())),
                invalid("disks: duplicate disk id 'd0'", () -> new GuestSpec("g", RAM,
                        List.of(new DiskSpec("d0", "a", 4096), new DiskSpec("d0", "b", 4096)), 1, WorkloadSpec.idle())),
                invalid("deviceStateBytes", () -> new GuestSpec("g", RAM, NO_DISKS, 0, WorkloadSpec.idle())),
                invalid("deviceStateBytes", () -> new GuestSpec("g", RAM, NO_DISKS, (1 << 20) + 1, WorkloadSpec.idle())),
                invalid("workload", () -> new GuestSpec("g", RAM, NO_DISKS, 1, null)),
                invalid("name", () -> new RamBlockSpec("", 4096)),
                invalid("name", () -> new RamBlockSpec("x".repeat(256), 4096)),
                invalid("name must be printable ASCII", () -> new RamBlockSpec("pc.ram\u00e9", 4096)),
                invalid("sizeBytes of block 'pc.ram'", () -> new RamBlockSpec("pc.ram", 4095)),
                invalid("sizeBytes of block 'pc.ram'", () -> new RamBlockSpec("pc.ram", 0)),
                invalid("diskId", () -> new DiskSpec("a/b", "disk", 4096)),
                invalid("sizeBytes of disk 'd0'", () -> new DiskSpec("d0", "disk", 6000)),
                invalid("dirtyPagesPerSecond", () -> new WorkloadSpec(-1, 1.0, 0, 0)),
                invalid("hotSetFraction", () -> new WorkloadSpec(0, 0.0, 0, 0)),
                invalid("hotSetFraction", () -> new WorkloadSpec(0, 1.5, 0, 0)),
                invalid("hotSetFraction", () -> new WorkloadSpec(0, Double.NaN, 0, 0)),
                invalid("diskWritesPerSecond", () -> new WorkloadSpec(0, 1.0, -5, 0)),
                invalid("bytesPerWrite", () -> new WorkloadSpec(0, 1.0, 0, 0, 4)),
                invalid("bytesPerWrite", () -> new WorkloadSpec(0, 1.0, 0, 0, 24)),
                invalid("bytesPerWrite", () -> new WorkloadSpec(0, 1.0, 0, 0, 8192)));
    }

    private static Arguments invalid(String messageStart, Supplier<Object> construction) {
        return Arguments.of(messageStart, construction);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidSpecs")
    void invalidSpecIsRejectedNamingTheField(String messageStart, Supplier<Object> construction) {
        assertThatIllegalArgumentException().isThrownBy(construction::get).withMessageStartingWith(messageStart);
    }

    @Test
    void validSpecAtTheLimitsIsAcceptedAndCopied() {
        var blocks = new ArrayList<>(List.of(new RamBlockSpec("pc.ram", 64L << 30)));
        GuestSpec spec = new GuestSpec("guest-1", blocks, NO_DISKS, 1 << 20, WorkloadSpec.idle());
        blocks.clear();

        assertThat(spec.ramBlocks()).hasSize(1);
        assertThat(spec.memoryBytes()).isEqualTo(64L << 30);
        assertThat(new RamBlockSpec("x".repeat(255), 4096).name()).hasSize(255);
    }

    @Test
    void idleWorkloadWritesNothing() {
        assertThat(WorkloadSpec.idle().dirtyPagesPerSecond()).isZero();
        assertThat(WorkloadSpec.idle().diskWritesPerSecond()).isZero();
    }
}
