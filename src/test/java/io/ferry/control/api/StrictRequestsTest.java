package io.ferry.control.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.control.job.EngineFeatures;
import io.ferry.control.job.MigrationParameters;
import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.StorageMode;
import io.ferry.control.job.UnsupportedFeatureException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Issue 12: decimal integers within range, Java names kept out of details, verification with post-copy refused. */
class StrictRequestsTest {

    @Test
    void integersAreDecimalAndWithinRange() {
        assertThat(StrictRequests.decimal("16", 0, 100)).isEqualTo(16);
        assertThat(StrictRequests.decimal("-5", -10, 100)).isEqualTo(-5);
        assertThat(StrictRequests.decimal(Long.toString(Long.MAX_VALUE), 0, Long.MAX_VALUE)).isEqualTo(Long.MAX_VALUE);
        for (String bad : List.of("0x10", "+1", "1e3", "1.5", " 1", "1 ", "", "abc", "#10", "٣",
                "99999999999999999999", "2147483648")) {
            assertThatThrownBy(() -> StrictRequests.decimal(bad, Integer.MIN_VALUE, Integer.MAX_VALUE)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("must be a decimal integer");
        }
    }

    @Test
    void detailsNameNoJavaClass() {
        assertThat(ProblemAdvice.scrub("Cannot deserialize value of type `java.lang.Long` from String"))
                .isEqualTo("Cannot deserialize value of type value from String");
        assertThat(ProblemAdvice.scrub("io.ferry.control.api.MigrationRequests$TuneMigration failed"))
                .doesNotContain("io.ferry");
        // the API's own dotted names stay
        assertThat(ProblemAdvice.scrub("parameters.capabilities.postcopy and workload.hotSetFraction"))
                .isEqualTo("parameters.capabilities.postcopy and workload.hotSetFraction");
        assertThat(JsonProblems.kind(Long.class)).startsWith("an integer");
        assertThat(JsonProblems.kind(Boolean.class)).isEqualTo("true or false");
        assertThat(JsonProblems.kind(String.class)).isEqualTo("a string");
    }

    @Test
    void verifyingChecksumsWithPostcopyIsNamedAsUnsupported() {
        MigrationParameters both = new MigrationParameters(1, 300, StorageMode.SHARED, true,
                ConvergenceSettings.NONE, 1, true, 0, false, 0);
        assertThat(EngineFeatures.unsupported(both)).containsExactly(EngineFeatures.VERIFY_WITH_POSTCOPY);
        assertThat(new UnsupportedFeatureException(EngineFeatures.unsupported(both)).getMessage())
                .contains("verifyChecksums", "post-copy", "one or the other");
        for (boolean postcopy : new boolean[] {true, false}) {
            MigrationParameters one = new MigrationParameters(1, 300, StorageMode.SHARED, postcopy,
                    ConvergenceSettings.NONE, 1, !postcopy, 0, false, 0);
            assertThat(EngineFeatures.unsupported(one)).isEmpty();
        }
    }
}
