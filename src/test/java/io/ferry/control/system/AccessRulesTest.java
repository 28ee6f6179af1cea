package io.ferry.control.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.ferry.control.lease.SweepLease;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The small pure parts of roles and audit: role order, JWT claims, credential shapes, targets, cursors, retention. */
class AccessRulesTest {

    @Test
    void eachRoleHoldsTheAuthoritiesOfTheRolesBelowIt() {
        assertThat(Role.ADMIN.grantedAuthorities()).extracting(a -> a.getAuthority())
                .containsExactly("ROLE_VIEWER", "ROLE_OPERATOR", "ROLE_ADMIN");
        assertThat(Role.VIEWER.grantedAuthorities()).extracting(a -> a.getAuthority()).containsExactly("ROLE_VIEWER");
        assertThat(Role.of(Role.OPERATOR.grantedAuthorities())).isEqualTo(Role.OPERATOR);
        assertThat(Role.of(List.of())).isNull();
        assertThat(Role.OPERATOR.includes(Role.VIEWER)).isTrue();
        assertThat(Role.OPERATOR.includes(Role.ADMIN)).isFalse();
        assertThatThrownBy(() -> Role.fromApiName("root")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aJwtsRoleIsTheHighestItsClaimNamesAtAnyDepthInAnyShape() {
        assertThat(JwtBearer.role(Map.of("roles", List.of("viewer", "ADMIN", "other")), "roles")).isEqualTo(Role.ADMIN);
        assertThat(JwtBearer.role(Map.of("roles", "viewer operator"), "roles")).isEqualTo(Role.OPERATOR);
        assertThat(JwtBearer.role(Map.of("roles", "viewer,operator"), "roles")).isEqualTo(Role.OPERATOR);
        assertThat(JwtBearer.role(Map.of("realm_access", Map.of("roles", List.of("operator"))), "realm_access.roles"))
                .isEqualTo(Role.OPERATOR);
        assertThat(JwtBearer.role(Map.of("roles", List.of("auditor")), "roles")).isNull();
        assertThat(JwtBearer.role(Map.of("scope", "admin"), "roles")).isNull();
        assertThat(JwtBearer.role(Map.of("roles", 7), "roles")).isNull();
    }

    @ParameterizedTest
    @CsvSource({
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln, true",
            "ferry_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, false",
            "a.b, false",
            "a..c, false",
            ".b.c, false",
            "a.b., false",
            "a.b.c.d, false",
            "test-api-token, false"})
    void onlyThreeNonEmptyDotSeparatedPartsGoToTheJwtPath(String token, boolean jwt) {
        assertThat(JwtBearer.looksLikeJwt(token)).isEqualTo(jwt);
    }

    @Test
    void aTokensHashIsItsHexSha256() {
        assertThat(ApiTokens.hash("abc"))
                .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    @Test
    void theTargetIsTheCreatedResourceForACreateElseThePathBelowTheApi() {
        assertThat(AuditFilter.target("/api/v1/guests", 201, "/api/v1/guests/42")).isEqualTo("guests/42");
        assertThat(AuditFilter.target("/api/v1/guests", 201, "http://h:1/api/v1/guests/42")).isEqualTo("guests/42");
        assertThat(AuditFilter.target("/api/v1/guests", 400, "/api/v1/guests/42")).isEqualTo("guests");
        assertThat(AuditFilter.target("/api/v1/migrations/7/cancel", 200, null)).isEqualTo("migrations/7/cancel");
        assertThat(AuditFilter.target("/api/v2/x", 404, null)).isEqualTo("/api/v2/x");
    }

    @ParameterizedTest
    @CsvSource({"200, succeeded", "204, succeeded", "401, unauthenticated", "403, forbidden", "404, refused",
            "415, refused", "500, failed", "503, failed"})
    void anOutcomeFollowsTheStatus(int status, String outcome) {
        assertThat(AuditLog.Outcome.of(status).apiName()).isEqualTo(outcome);
    }

    @Test
    void anAuditCursorRoundTripsAndAnythingElseIsRefused() {
        assertThat(AuditLog.decode(AuditLog.encode(123_456L))).isEqualTo(123_456L);
        for (String bad : List.of("not-a-cursor", "%%", "YXVkaXQ6", "YXVkaXQ6LTE", "MTIzOmZvbw")) {
            assertThatThrownBy(() -> AuditLog.decode(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void retentionRunsOnlyOnTheReplicaHoldingTheSweeps() {
        AuditLog audit = mock(AuditLog.class);
        SweepLease sweeps = mock(SweepLease.class);
        Instant now = Instant.parse("2026-12-06T12:00:00Z");
        AuditPruner pruner = new AuditPruner(audit, sweeps, Clock.fixed(now, ZoneOffset.UTC), Duration.ofDays(90));

        when(sweeps.held()).thenReturn(false);
        pruner.pruneExpired();
        verify(audit, never()).pruneBefore(any());

        when(sweeps.held()).thenReturn(true);
        pruner.pruneExpired();
        verify(audit).pruneBefore(now.minus(Duration.ofDays(90)));
    }
}
