package io.ferry.control.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.control.system.InvalidFieldException;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The one copy of a new guest's rules, which the API and the console both go through. */
class GuestLayoutTest {

    private static final long MIB = 1L << 20;

    @Test
    void withoutNamedBlocksAGuestGetsPcRamAndAnEightMebibyteVideoRam() {
        assertThat(GuestLayout.ramBlocks(256 * MIB, null)).extracting(RamBlock::name, RamBlock::sizeBytes)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("pc.ram", 248 * MIB),
                        org.assertj.core.groups.Tuple.tuple("vga.vram", 8 * MIB));
    }

    @Test
    void namedBlocksAreKeptAsGiven() {
        List<RamBlock> blocks = List.of(new RamBlock("a", 12 * MIB), new RamBlock("b", 4 * MIB));
        assertThat(GuestLayout.ramBlocks(16 * MIB, blocks)).isEqualTo(blocks);
    }

    @Test
    void leftOutWorkloadPartsHaveTheirDefaults() {
        Workload w = GuestLayout.workload(null, null, null, 7L);
        assertThat(w.dirtyPagesPerSecond()).isZero();
        assertThat(w.hotSetFraction()).isEqualTo(1.0);
        assertThat(w.diskWritesPerSecond()).isZero();
        assertThat(w.seed()).isEqualTo(7L);
    }

    static List<Arguments> refused() {
        return List.of(
                Arguments.of((Runnable) () -> GuestLayout.ramBlocks(8 * MIB, null), "memoryBytes", "between 16 MiB and 64 GiB"),
                Arguments.of((Runnable) () -> GuestLayout.ramBlocks((65L << 30), null), "memoryBytes", "between 16 MiB and 64 GiB"),
                Arguments.of((Runnable) () -> GuestLayout.ramBlocks(16 * MIB + 1, null), "memoryBytes", "multiple of 4096"),
                Arguments.of((Runnable) () -> GuestLayout.ramBlocks(16 * MIB, List.of(new RamBlock("a", 16 * MIB - 1024),
                        new RamBlock("b", 1024))), "ramBlocks[0].sizeBytes", "multiple of 4096"),
                Arguments.of((Runnable) () -> GuestLayout.ramBlocks(16 * MIB, List.of(new RamBlock("a", 8 * MIB),
                        new RamBlock("a", 8 * MIB))), "ramBlocks", "unique"),
                Arguments.of((Runnable) () -> GuestLayout.ramBlocks(16 * MIB, List.of(new RamBlock("a", 8 * MIB))),
                        "ramBlocks", "add up to 8388608 bytes but memoryBytes is 16777216"),
                Arguments.of((Runnable) () -> GuestLayout.disks(List.of(new NewGuest.NewDisk("root", 5000))),
                        "disks[0].sizeBytes", "multiple of 4096"),
                Arguments.of((Runnable) () -> GuestLayout.disks(List.of(new NewGuest.NewDisk("root", 4096),
                        new NewGuest.NewDisk("root", 4096))), "disks", "unique"),
                Arguments.of((Runnable) () -> GuestLayout.disks(List.of(new NewGuest.NewDisk("big", 2L << 40))),
                        "disks[0].sizeBytes", "between 4 KiB and 1 TiB"),
                Arguments.of((Runnable) () -> GuestLayout.workload(-1L, null, null, null),
                        "workload.dirtyPagesPerSecond", "between 0 and"),
                Arguments.of((Runnable) () -> GuestLayout.workload(null, 0.0, null, null),
                        "workload.hotSetFraction", "more than 0"));
    }

    @ParameterizedTest(name = "{1}: {2}")
    @MethodSource("refused")
    void aRuleRefusesNamingTheFieldAsTheApiSpellsIt(Runnable attempt, String field, String words) {
        assertThatThrownBy(attempt::run).isInstanceOfSatisfying(InvalidFieldException.class, e -> {
            assertThat(e.field()).isEqualTo(field);
            assertThat(e.reason()).contains(words);
        });
    }
}
