package io.ferry.migration.outgoing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PauseGateTest {

    @Test
    void onePauseAtATimeAndTheNextGoesOnceItEnds() throws Exception {
        PauseGate gate = new PauseGate();
        assertThat(gate.tryEnter(0)).isTrue();
        assertThat(gate.tryEnter(20)).as("another pause runs").isFalse();

        CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return gate.tryEnter(10_000);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(50);
        assertThat(waiting).isNotDone();
        gate.leave();
        assertThat(waiting.get(10, TimeUnit.SECONDS)).as("the waiting one goes as the first ends").isTrue();
        gate.leave();
        assertThat(gate.tryEnter(0)).isTrue();
    }
}
