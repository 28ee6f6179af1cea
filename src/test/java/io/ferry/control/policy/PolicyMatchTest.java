package io.ferry.control.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.channel.CompressionMethod;
import io.ferry.channel.ConvergenceSettings;
import io.ferry.control.job.ConvergenceTuning;
import io.ferry.control.job.InvalidParametersException;
import io.ferry.control.job.RequestedConvergence;

import io.ferry.control.job.DowntimeRamp;
import io.ferry.control.job.EscalationStep;
import io.ferry.control.job.JobPriority;
import io.ferry.control.job.RequestedParameters;
import io.ferry.channel.StorageMode;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Which policy a guest falls under (labels, specificity, ties) and how request, policy and defaults combine. */
class PolicyMatchTest {

    private static MigrationPolicy policy(String name, Map<String, String> guest, Map<String, String> host,
                                          PolicySettings settings) {
        MigrationPolicy p = new MigrationPolicy(name, Instant.EPOCH);
        p.define(null, guest, host, settings, Instant.EPOCH);
        return p;
    }

    private static final List<MigrationPolicy> POLICIES = List.of(
            policy("catch-all", Map.of(), Map.of(), PolicySettings.NONE),
            policy("gold", Map.of("tier", "gold"), Map.of(), PolicySettings.NONE),
            policy("gold-db", Map.of("tier", "gold", "app", "db"), Map.of(), PolicySettings.NONE),
            policy("zone-a", Map.of(), Map.of("zone", "a"), PolicySettings.NONE),
            policy("alpha-gold-a", Map.of("tier", "gold"), Map.of("zone", "a"), PolicySettings.NONE),
            policy("beta-db-a", Map.of("app", "db"), Map.of("zone", "a"), PolicySettings.NONE));

    @ParameterizedTest(name = "guest {0}, host {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            -                        | -          | catch-all
            tier=gold                | -          | gold
            tier=silver              | -          | catch-all
            tier=gold,app=db         | -          | gold-db
            tier=gold,app=web        | -          | gold
            -                        | zone=a     | zone-a
            tier=gold                | zone=a     | alpha-gold-a
            app=db                   | zone=a     | beta-db-a
            tier=gold,app=db         | zone=a     | alpha-gold-a
            tier=gold,app=db         | zone=b     | gold-db
            TIER=gold                | -          | catch-all
            """)
    void theMostSpecificMatchWinsAndTiesGoToTheFirstName(String guest, String host, String expected) {
        Optional<MigrationPolicy> match = PolicyMatch.select(POLICIES, labels(guest), labels(host));
        assertThat(match.map(MigrationPolicy::name)).contains(expected);
    }

    @Test
    void noPolicyMatchesWhenNoneSelectsTheGuest() {
        assertThat(PolicyMatch.select(POLICIES.subList(1, 3), Map.of("tier", "silver"), Map.of())).isEmpty();
    }

    @Test
    void requestOverridesPolicyOverridesDefaults() {
        MigrationPolicy strict = policy("strict", Map.of(), Map.of(), new PolicySettings(64L << 20, 500L,
                new DowntimeRamp(List.of(new DowntimeRamp.Step(60, 1000), new DowntimeRamp.Step(30, 700)))
                , 150L, 120L, true, StorageMode.COPY, JobPriority.SYSTEM,
                List.of(EscalationStep.POSTCOPY, EscalationStep.ABORT), 20L, Map.of("ssd", "true"), true,
                RequestedConvergence.NONE));
        RequestedParameters request = new RequestedParameters(1L << 20, null, null, null, false, null, null, null,
                null, null, JobPriority.USER);
        PolicyMatch.Resolved r = PolicyMatch.resolve(request, strict, 30, StorageMode.SHARED);
        assertThat(r.parameters().maxBandwidth()).as("request wins").isEqualTo(1L << 20);
        assertThat(r.parameters().downtimeLimitMs()).as("policy fills the gap").isEqualTo(500);
        assertThat(r.parameters().postcopy()).as("the request's explicit false wins over allowPostcopy").isFalse();
        assertThat(r.priority()).isEqualTo(JobPriority.USER);
        assertThat(r.storage()).isEqualTo(StorageMode.COPY);
        assertThat(r.policy().policyName()).isEqualTo("strict");
        assertThat(r.policy().completionTimeoutPerGiBSeconds()).isEqualTo(150);
        assertThat(r.policy().progressTimeoutSeconds()).isEqualTo(120);
        assertThat(r.policy().escalation()).containsExactly(EscalationStep.POSTCOPY, EscalationStep.ABORT);
        assertThat(r.policy().escalationGraceSeconds()).isEqualTo(20);
        assertThat(r.policy().downtimeRamp().steps()).extracting(DowntimeRamp.Step::afterSeconds)
                .as("ramp in time order").containsExactly(30L, 60L);
        assertThat(r.destinationSelector()).containsEntry("ssd", "true");
        assertThat(r.parameters().verifyChecksums()).isTrue();
    }

    @Test
    void withoutAPolicyTheDefaultsAreQemusAndThereIsNoDeadline() {
        PolicyMatch.Resolved r = PolicyMatch.resolve(RequestedParameters.NONE, null, 30, StorageMode.COPY);
        assertThat(r.parameters().maxBandwidth()).isEqualTo(128L << 20);
        assertThat(r.parameters().downtimeLimitMs()).isEqualTo(300);
        assertThat(r.parameters().postcopy()).isFalse();
        assertThat(r.storage()).as("chosen from the hosts").isEqualTo(StorageMode.COPY);
        assertThat(r.priority()).isEqualTo(JobPriority.USER);
        assertThat(r.policy().policyName()).isNull();
        assertThat(r.policy().completionTimeoutPerGiBSeconds()).isZero();
        assertThat(r.policy().escalation()).isEmpty();
    }

    @Test
    void convergenceToolsComeFromTheRequestThenThePolicyThenQemusDefaults() {
        MigrationPolicy busy = policy("busy", Map.of(), Map.of(), new PolicySettings(null, null, null, null, null,
                null, null, null, null, null, null, null, new RequestedConvergence(true, true, null,
                new ConvergenceTuning(30, 5, null, true, 8L << 20, null))));
        RequestedParameters request = new RequestedParameters(null, null, null, null, null,
                new RequestedConvergence(null, null, null, new ConvergenceTuning(null, null, 70, null, null, null)),
                null, null, null, null, null);
        ConvergenceSettings c = PolicyMatch.resolve(request, busy, 30, StorageMode.SHARED).parameters().convergence();
        assertThat(c.autoConverge()).isEqualTo(new ConvergenceSettings.AutoConverge(true, 30, 5, 70, true));
        assertThat(c.xbzrle()).isEqualTo(new ConvergenceSettings.Xbzrle(true, 8L << 20));
        assertThat(c.compression()).isEqualTo(ConvergenceSettings.Compression.NONE);
        assertThat(PolicyMatch.resolve(request, busy, 30, StorageMode.SHARED).parameters().channels())
                .as("XBZRLE keeps the main stream alone, as QEMU's multifd excludes it").isEqualTo(1);

        ConvergenceSettings defaults = PolicyMatch.resolve(new RequestedParameters(null, null, null, null, null,
                new RequestedConvergence(true, false, CompressionMethod.LZ4, null), null, null, null, null, null),
                null, 30, StorageMode.SHARED).parameters().convergence();
        assertThat(defaults.autoConverge()).isEqualTo(ConvergenceSettings.AutoConverge.ON);
        assertThat(defaults.xbzrle().enabled()).isFalse();
        assertThat(defaults.compression()).isEqualTo(new ConvergenceSettings.Compression(CompressionMethod.LZ4, 1));
    }

    @Test
    void contradictoryConvergenceParametersAreRefusedWithTheReason() {
        RequestedParameters initialAboveMax = new RequestedParameters(null, null, null, null, null,
                new RequestedConvergence(true, null, null, new ConvergenceTuning(60, null, 50, null, null, null)),
                null, null, null, null, null);
        assertThatThrownBy(() -> PolicyMatch.resolve(initialAboveMax, null, 30, StorageMode.SHARED))
                .isInstanceOf(InvalidParametersException.class).hasMessageContaining("initial throttle 60 %")
                .hasMessageContaining("maximum 50 %");
        RequestedParameters lz4Level18 = new RequestedParameters(null, null, null, null, null,
                new RequestedConvergence(null, null, CompressionMethod.LZ4, new ConvergenceTuning(null, null, null,
                        null, null, 18)), null, null, null, null, null);
        assertThatThrownBy(() -> PolicyMatch.resolve(lz4Level18, null, 30, StorageMode.SHARED))
                .isInstanceOf(InvalidParametersException.class).hasMessageContaining("lz4 levels are 1..17");
    }

    @Test
    void aTimeoutWithoutALadderAborts() {
        MigrationPolicy timeoutOnly = policy("t", Map.of(), Map.of(), new PolicySettings(null, null, null, null, 60L,
                null, null, null, null, null, null, null, null));
        PolicyMatch.Resolved r = PolicyMatch.resolve(RequestedParameters.NONE, timeoutOnly, 30, StorageMode.SHARED);
        assertThat(r.policy().escalation()).containsExactly(EscalationStep.ABORT);
        assertThat(r.parameters().postcopy()).isFalse();
    }

    private static Map<String, String> labels(String spec) {
        if (spec.equals("-")) {
            return Map.of();
        }
        java.util.Map<String, String> labels = new java.util.HashMap<>();
        for (String pair : spec.split(",")) {
            String[] kv = pair.split("=");
            labels.put(kv[0], kv[1]);
        }
        return labels;
    }
}
