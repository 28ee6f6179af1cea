package io.ferry.guest;

import static io.ferry.guest.GuestFixtures.smallGuest;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guest's CPU throttle, as auto-converge sets it. Rates are only ever bounded from above: a
 * loaded machine makes the workload slower, never faster, so the bounds hold beside stress-ng,
 * and an unthrottled workload would break them by a factor of several.
 */
class CpuThrottleTest {

    @TempDir
    Path datastore;

    private SyntheticGuest guest;

    @AfterEach
    void closeGuest() {
        if (guest != null) {
            guest.close();
        }
    }

    @Test
    void aThrottledGuestWritesMemoryAndDiskOnlyInItsShareOfTheTime() throws Exception {
        long memoryRate = 20_000;
        long diskRate = 1_000;
        guest = SyntheticGuest.create(smallGuest("throttled", new WorkloadSpec(memoryRate, 1.0, diskRate, 3)),
                datastore);
        await().atMost(Duration.ofSeconds(30)).until(() -> guest.memoryWrites() > 0 && guest.diskWrites() > 0);

        guest.throttle(90);
        assertThat(guest.throttlePercent()).isEqualTo(90);
        Thread.sleep(300);   // past a timeslice begun before the throttle
        long start = System.nanoTime();
        long memory = guest.memoryWrites();
        long disk = guest.diskWrites();
        Thread.sleep(1500);
        long memoryWritten = guest.memoryWrites() - memory;
        long diskWritten = guest.diskWrites() - disk;
        double seconds = (System.nanoTime() - start) / 1e9;

        // 10 % of the time at most, with room for a timeslice's burst at each end: unthrottled it would be ten times as many
        assertThat(memoryWritten).isLessThanOrEqualTo((long) (memoryRate * seconds * 0.10 * 1.5) + memoryRate / 25);
        assertThat(diskWritten).isLessThanOrEqualTo((long) (diskRate * seconds * 0.10 * 1.5) + diskRate / 25);
        assertThat(guest.state()).isEqualTo(GuestState.RUNNING);
    }

    @Test
    void liftingTheThrottleWakesTheVcpuAtOnce() throws Exception {
        guest = SyntheticGuest.create(smallGuest("lifted", new WorkloadSpec(1_000, 1.0, 0, 4)), datastore);
        await().atMost(Duration.ofSeconds(30)).until(() -> guest.memoryWrites() > 0);
        guest.throttle(99);   // 10 writes a second: each 10 ms timeslice is followed by 990 ms asleep
        Thread.sleep(100);

        long before = guest.memoryWrites();
        guest.throttle(0);

        // at 99 % these 1000 writes would take 100 s; lifted, about one
        await().atMost(Duration.ofSeconds(30)).until(() -> guest.memoryWrites() >= before + 1_000);
        assertThat(guest.throttlePercent()).isZero();
    }

    @Test
    void aPausedGuestStaysPausedAndTheThrottleOutlastsPauseAndResume() throws Exception {
        guest = SyntheticGuest.create(smallGuest("paused", new WorkloadSpec(20_000, 1.0, 0, 5)), datastore);
        guest.throttle(99);
        guest.pause();   // returns though the vCPU may be asleep for its share

        guest.throttle(50);
        long writes = guest.memoryWrites();
        Thread.sleep(100);
        assertThat(guest.state()).isEqualTo(GuestState.PAUSED);
        assertThat(guest.memoryWrites()).as("still paused").isEqualTo(writes);

        guest.resume();
        guest.throttle(90);
        guest.pause();
        guest.resume();
        assertThat(guest.throttlePercent()).isEqualTo(90);
        Thread.sleep(300);
        long start = System.nanoTime();
        long resumed = guest.memoryWrites();
        Thread.sleep(1000);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(guest.memoryWrites() - resumed).as("resumed, and throttled still")
                .isLessThanOrEqualTo((long) (20_000 * seconds * 0.10 * 1.5) + 20_000 / 25);
    }

    @Test
    void aThrottleIsZeroToNinetyNinePercent() throws Exception {
        guest = SyntheticGuest.create(smallGuest("bounds", WorkloadSpec.idle()), datastore);
        assertThat(guest.throttlePercent()).isZero();
        assertThatIllegalArgumentException().isThrownBy(() -> guest.throttle(100));
        assertThatIllegalArgumentException().isThrownBy(() -> guest.throttle(-1));
        guest.throttle(99);
        assertThat(guest.throttlePercent()).isEqualTo(99);
    }
}
