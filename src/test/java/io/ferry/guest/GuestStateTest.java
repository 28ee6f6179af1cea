package io.ferry.guest;

import static io.ferry.guest.GuestState.INCOMING;
import static io.ferry.guest.GuestState.MIGRATING_OUT;
import static io.ferry.guest.GuestState.PAUSED;
import static io.ferry.guest.GuestState.RUNNING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GuestStateTest {

    @ParameterizedTest(name = "{0} -> {1}: {2}")
    @CsvSource({
            "RUNNING,       PAUSED,        true",
            "RUNNING,       MIGRATING_OUT, true",
            "RUNNING,       INCOMING,      false",
            "PAUSED,        RUNNING,       true",
            "PAUSED,        MIGRATING_OUT, true",
            "PAUSED,        INCOMING,      false",
            "MIGRATING_OUT, PAUSED,        true",
            "MIGRATING_OUT, RUNNING,       true",
            "MIGRATING_OUT, INCOMING,      false",
            "INCOMING,      RUNNING,       true",
            "INCOMING,      PAUSED,        true",
            "INCOMING,      MIGRATING_OUT, false",
    })
    void transitionTable(GuestState from, GuestState to, boolean legal) {
        assertThat(from.canTransitionTo(to)).isEqualTo(legal);
    }

    @Test
    void illegalTransitionNamesBothStates() {
        assertThatIllegalStateException().isThrownBy(() -> RUNNING.checkTransitionTo(INCOMING))
                .withMessageContaining("RUNNING").withMessageContaining("INCOMING");
    }

    @Test
    void apiNamesRoundTrip() {
        assertThat(RUNNING.apiName()).isEqualTo("running");
        assertThat(PAUSED.apiName()).isEqualTo("paused");
        assertThat(MIGRATING_OUT.apiName()).isEqualTo("migrating-out");
        assertThat(INCOMING.apiName()).isEqualTo("incoming");
        for (GuestState state : GuestState.values()) {
            assertThat(GuestState.fromApiName(state.apiName())).isEqualTo(state);
        }
    }
}
