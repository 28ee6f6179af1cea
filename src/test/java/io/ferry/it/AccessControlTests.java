package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.contract.OpenApiContract;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Roles, credentials and the audit log against a running control plane. The role matrix is
 * derived from openapi.yaml: every operation, with every kind of caller, must answer as its
 * {@code x-ferry-role} says (401 without a valid credential, 403 below the role, neither at or
 * above it). Runs in the context of {@link ControlPlaneApiTests} (one server for both).
 */
abstract class AccessControlTests extends ApiTestSupport {

    private static final List<String> ROLES = List.of("viewer", "operator", "admin");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    // ---- the role matrix --------------------------------------------------------------------

    @Test
    void everyOperationAnswersEveryKindOfCallerAsItsDeclaredRoleSays() {
        Map<String, String> callers = new LinkedHashMap<>();   // caller → its role ("" for no valid credential)
        for (String role : ROLES) {
            callers.put("token:" + role, role);
            callers.put("jwt:" + role, role);
        }
        Map<String, String> credentials = new LinkedHashMap<>();
        for (String role : ROLES) {
            credentials.put("token:" + role, createToken(role).get("token").asString());
            credentials.put("jwt:" + role, JWT.token("matrix-" + role, role));
        }
        credentials.put("bootstrap", API_TOKEN);
        callers.put("bootstrap", "admin");
        credentials.put("jwt without a role", JWT.token("matrix-nobody"));
        callers.put("jwt without a role", "none");
        credentials.put("worker token", "test-worker-token");
        callers.put("worker token", "none");
        credentials.put("no credential", null);
        callers.put("no credential", "");
        credentials.put("revoked token", revokedToken());
        callers.put("revoked token", "");
        credentials.put("expired jwt", JWT.expired("matrix-late", "admin"));
        callers.put("expired jwt", "");
        // (unknown tokens, and JWTs with a stranger's key, another issuer or audience: see the JWT test)

        JsonNode paths = OpenApiContract.shared().document().path("paths");
        List<String> failures = new ArrayList<>();
        int operations = 0;
        for (String template : paths.propertyNames()) {
            for (String method : paths.path(template).propertyNames()) {
                JsonNode operation = paths.path(template).path(method);
                String needs = operation.path("x-ferry-role").asString();
                assertThat(ROLES).as(method + " " + template + " x-ferry-role").contains(needs);
                operations++;
                for (Map.Entry<String, String> caller : callers.entrySet()) {
                    String held = caller.getValue();
                    HttpResponse<String> reply = probe(method.toUpperCase(), template, credentials.get(caller.getKey()));
                    String what = method.toUpperCase() + " " + template + " (" + needs + ") as " + caller.getKey()
                            + ": " + reply.statusCode() + " " + reply.body();
                    String type = reply.headers().firstValue("Content-Type").orElse("");
                    if (held.isEmpty()) {
                        if (reply.statusCode() != 401 || !type.startsWith("application/problem+json")) {
                            failures.add(what + " (want 401 problem)");
                        }
                    } else if (held.equals("none") || ROLES.indexOf(held) < ROLES.indexOf(needs)) {
                        if (reply.statusCode() != 403 || !type.startsWith("application/problem+json")) {
                            failures.add(what + " (want 403 problem)");
                        }
                    } else if (reply.statusCode() == 401 || reply.statusCode() == 403) {
                        failures.add(what + " (want neither 401 nor 403)");
                    }
                }
            }
        }
        assertThat(operations).isEqualTo(OpenApiContract.shared().operations().size());
        assertThat(failures).isEmpty();
    }

    /**
     * One request to an operation that changes nothing even when allowed: ids that do not exist
     * and a body with an unknown property (refused with 400), and a stream asked for with an
     * unknown event type.
     */
    private HttpResponse<String> probe(String method, String template, String credential) {
        String path = template.replace("{hostId}", "no-such-host").replace("{name}", "no-such-policy")
                .replaceAll("\\{[^}]+}", UUID.randomUUID().toString());
        if (template.equals("/api/v1/events")) {
            path += "?type=no-such-type";
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30));
        if (credential != null) {
            request.header("Authorization", "Bearer " + credential);
        }
        if (method.equals("GET") || method.equals("DELETE")) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString("{\"roleProbe\":true}"));
        }
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(method + " " + path + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ---- tokens -----------------------------------------------------------------------------

    @Test
    void aTokenIsShownOnceListedWithoutItAndRevokedAtOnce() {
        JsonNode created = createToken("operator");
        String id = created.get("id").asString();
        String secret = created.get("token").asString();
        assertThat(secret).startsWith("ferry_");

        JsonNode listed = api.get("/api/v1/tokens/" + id).json();
        assertThat(listed.get("name")).isEqualTo(created.get("name"));
        assertThat(listed.get("role").asString()).isEqualTo("operator");
        assertThat(listed.get("createdBy").asString()).isEqualTo("api:bootstrap");
        assertThat(listed.has("token")).isFalse();
        assertThat(api.get("/api/v1/tokens").body()).doesNotContain(secret);

        ApiClient operator = api.withToken(secret);
        assertThat(operator.get("/api/v1/hosts").status()).isEqualTo(200);
        assertThat(operator.get("/api/v1/tokens").status()).isEqualTo(403);

        assertThat(api.delete("/api/v1/tokens/" + id).status()).isEqualTo(204);
        ApiClient.Reply refused = operator.get("/api/v1/hosts");
        assertThat(refused.status()).isEqualTo(401);
        assertThat(refused.contentType()).startsWith("application/problem+json");
        JsonNode revoked = api.get("/api/v1/tokens/" + id).json();
        assertThat(revoked.get("revokedAt").isNull()).isFalse();
        assertThat(revoked.get("revokedBy").asString()).isEqualTo("api:bootstrap");
        assertThat(api.delete("/api/v1/tokens/" + id).status()).as("revoking twice").isEqualTo(204);
        assertThat(api.delete("/api/v1/tokens/" + UUID.randomUUID()).status()).isEqualTo(404);
        assertThat(api.withToken("ferry_" + "A".repeat(43)).get("/api/v1/hosts").status()).as("unknown").isEqualTo(401);

        // names stay taken, revoked or not; bootstrap is the configured token's
        assertThat(api.post("/api/v1/tokens", Map.of("name", created.get("name").asString(), "role", "viewer"))
                .status()).isEqualTo(409);
        assertThat(api.post("/api/v1/tokens", Map.of("name", "bootstrap", "role", "viewer")).status()).isEqualTo(409);
        assertThat(api.post("/api/v1/tokens", Map.of("name", "Not A Label", "role", "viewer")).status()).isEqualTo(400);
        assertThat(api.post("/api/v1/tokens", Map.of("name", "no-role-" + suffix(), "role", "root")).status())
                .isEqualTo(400);
    }

    @Test
    void aJobsTimelineNamesTheTokenOrJwtSubjectThatActed() {
        JsonNode token = createToken("operator");
        ApiClient operator = api.withToken(token.get("token").asString());
        ApiClient.Reply guest = operator.post("/api/v1/guests", guestRequest("host-a", 16 * MIB));
        assertThat(guest.status()).as(guest.body()).isEqualTo(201);
        ApiClient.Reply job = operator.post("/api/v1/migrations", Map.of("guestId", guest.json().get("id").asString(),
                "destinationHostId", "host-b", "parameters", Map.of("maxBandwidth", MIB, "downtimeLimitMs", 50)));
        assertThat(job.status()).as(job.body()).isEqualTo(202);
        String jobId = job.json().get("id").asString();

        ApiClient jwtOperator = api.withToken(JWT.token("alice@example", "operator"));
        ApiClient.Reply cancelled = jwtOperator.post("/api/v1/migrations/" + jobId + "/cancel", null);
        assertThat(cancelled.status()).as(cancelled.body()).isIn(200, 409);
        awaitStatus(jobId, "cancelled", "completed");

        List<String> actors = new ArrayList<>();
        api.get("/api/v1/migrations/" + jobId + "/events").json().forEach(e -> actors.add(e.get("actor").asString()));
        assertThat(actors.get(0)).isEqualTo("api:" + token.get("name").asString());
        if (cancelled.status() == 200) {
            assertThat(actors).contains("jwt:alice@example");
        }
    }

    @Test
    void aJwtNeedsAValidSignatureIssuerAudienceAndExpiryAndARoleClaim() {
        assertThat(api.withToken(JWT.token("bob", "viewer")).get("/api/v1/hosts").status()).isEqualTo(200);
        assertThat(api.withToken(JWT.token("bob", "viewer")).put("/api/v1/admission/limits", Map.of()).status())
                .isEqualTo(403);
        // the highest role named counts; unknown values are ignored
        assertThat(api.withToken(JWT.token("carol", "auditor", "admin", "viewer")).get("/api/v1/tokens").status())
                .isEqualTo(200);
        for (String refused : List.of(JWT.expired("bob", "admin"), JWT.signedByStranger("bob", "admin"),
                JWT.fromOtherIssuer("bob", "admin"), JWT.forOtherAudience("bob", "admin"))) {
            ApiClient.Reply reply = api.withToken(refused).get("/api/v1/hosts");
            assertThat(reply.status()).isEqualTo(401);
            assertThat(reply.contentType()).startsWith("application/problem+json");
            assertThat(reply.json().get("detail").asString()).startsWith("the bearer JWT was refused");
        }
        assertThat(api.withToken(JWT.token("dave")).get("/api/v1/hosts").status()).isEqualTo(403);
    }

    // ---- audit ------------------------------------------------------------------------------

    @Test
    void everyStateChangingRequestIsAuditedRefusedOnesIncludedAndTheLogPagesAndFilters() {
        Instant from = Instant.now().minusSeconds(1);
        JsonNode viewerToken = createToken("viewer");
        String viewerName = viewerToken.get("name").asString();
        ApiClient viewer = api.withToken(viewerToken.get("token").asString());
        JsonNode operatorToken = createToken("operator");
        String operatorName = operatorToken.get("name").asString();
        ApiClient operator = api.withToken(operatorToken.get("token").asString());

        String guestId = operator.post("/api/v1/guests", guestRequest("host-a", 16 * MIB)).json().get("id").asString();
        assertThat(viewer.post("/api/v1/guests/" + guestId + "/pause", null).status()).isEqualTo(403);
        assertThat(api.withToken(null).delete("/api/v1/guests/" + guestId).status()).isEqualTo(401);
        assertThat(operator.put("/api/v1/guests/" + guestId + "/labels", Map.of("labels", Map.of("bad key!", "x")))
                .status()).isEqualTo(400);
        assertThat(viewer.get("/api/v1/guests/" + guestId).status()).as("reads are not audited").isEqualTo(200);

        JsonNode byOperator = api.get("/api/v1/audit?actor=" + operatorName).json().get("items");
        assertThat(byOperator).hasSize(2);
        JsonNode refused = byOperator.get(0);   // newest first
        assertThat(refused.get("method").asString()).isEqualTo("PUT");
        assertThat(refused.get("path").asString()).isEqualTo("/api/v1/guests/" + guestId + "/labels");
        assertThat(refused.get("status").asInt()).isEqualTo(400);
        assertThat(refused.get("outcome").asString()).isEqualTo("refused");
        JsonNode create = byOperator.get(1);
        assertThat(create.get("target").asString()).as("a create names what it created").isEqualTo("guests/" + guestId);
        assertThat(create.get("status").asInt()).isEqualTo(201);
        assertThat(create.get("outcome").asString()).isEqualTo("succeeded");
        assertThat(create.get("role").asString()).isEqualTo("operator");
        assertThat(create.get("credential").asString()).isEqualTo("token");
        assertThat(create.get("remoteAddress").asString()).isEqualTo("127.0.0.1");
        assertThat(Instant.parse(create.get("at").asString())).isAfter(from);

        JsonNode forbidden = api.get("/api/v1/audit?actor=" + viewerName).json().get("items");
        assertThat(forbidden).hasSize(1);
        assertThat(forbidden.get(0).get("status").asInt()).isEqualTo(403);
        assertThat(forbidden.get(0).get("outcome").asString()).isEqualTo("forbidden");
        assertThat(forbidden.get(0).get("role").asString()).isEqualTo("viewer");

        // the target filter takes the guest and everything below it; the anonymous DELETE is there
        JsonNode onGuest = api.get("/api/v1/audit?target=guests/" + guestId).json().get("items");
        assertThat(onGuest).hasSize(4);
        JsonNode anonymous = onGuest.get(1);
        assertThat(anonymous.get("method").asString()).isEqualTo("DELETE");
        assertThat(anonymous.get("status").asInt()).isEqualTo(401);
        assertThat(anonymous.get("actor").isNull()).isTrue();
        assertThat(anonymous.get("credential").asString()).isEqualTo("none");
        assertThat(api.get("/api/v1/audit?target=guests/" + guestId + "&status=401").json().get("items"))
                .hasSize(1);
        assertThat(api.get("/api/v1/audit?target=guests/" + guestId + "&outcome=succeeded").json().get("items"))
                .hasSize(1);
        assertThat(api.get("/api/v1/audit?actor=" + operatorName + "&to=" + from).json().get("items")).isEmpty();
        assertThat(api.get("/api/v1/audit?actor=" + operatorName + "&from=" + from).json().get("items")).hasSize(2);

        // keyset pages: one entry at a time, newest first, no repeats, to the end
        List<Long> ids = new ArrayList<>();
        String next = null;
        do {
            JsonNode page = api.get("/api/v1/audit?size=1&target=guests/" + guestId
                    + (next == null ? "" : "&after=" + next)).json();
            page.get("items").forEach(e -> ids.add(e.get("id").asLong()));
            next = page.get("next").isNull() ? null : page.get("next").asString();
        } while (next != null && ids.size() < 10);
        assertThat(ids).hasSize(4).doesNotHaveDuplicates().isSortedAccordingTo((a, b) -> Long.compare(b, a));

        ApiClient.Reply badCursor = api.get("/api/v1/audit?after=not-a-cursor");
        assertThat(badCursor.status()).isEqualTo(400);
        assertThat(badCursor.json().get("errors").findValuesAsString("field")).containsExactly("after");
        assertThat(api.get("/api/v1/audit?from=yesterday").status()).isEqualTo(400);
        assertThat(viewer.get("/api/v1/audit").status()).isEqualTo(403);
    }

    @Test
    void aRevokedTokenThatIsTriedIsNamedInTheAuditLog() {
        JsonNode token = createToken("operator");
        assertThat(api.delete("/api/v1/tokens/" + token.get("id").asString()).status()).isEqualTo(204);
        ApiClient revoked = api.withToken(token.get("token").asString());
        assertThat(revoked.post("/api/v1/guests", guestRequest("host-a", 16 * MIB)).status()).isEqualTo(401);
        JsonNode entries = api.get("/api/v1/audit?actor=" + token.get("name").asString()).json().get("items");
        assertThat(entries).hasSize(1);
        assertThat(entries.get(0).get("outcome").asString()).isEqualTo("unauthenticated");
        assertThat(entries.get(0).get("role").isNull()).isTrue();
        // and the token's creation and revocation, by the bootstrap token, newest first
        JsonNode byAdmin = api.get("/api/v1/audit?actor=bootstrap&target=tokens/" + token.get("id").asString())
                .json().get("items");
        assertThat(byAdmin).hasSize(2);
        assertThat(byAdmin.get(0).get("method").asString()).isEqualTo("DELETE");
        assertThat(byAdmin.get(0).get("status").asInt()).isEqualTo(204);
        assertThat(byAdmin.get(1).get("method").asString()).isEqualTo("POST");
        assertThat(byAdmin.get(1).get("status").asInt()).isEqualTo(201);
        assertThat(byAdmin).allSatisfy(e -> {
            assertThat(e.get("credential").asString()).isEqualTo("bootstrap");
            assertThat(e.get("role").asString()).isEqualTo("admin");
        });
    }

    // ---- fixtures ---------------------------------------------------------------------------

    JsonNode createToken(String role) {
        ApiClient.Reply created = api.post("/api/v1/tokens", Map.of("name", role + "-" + suffix(), "role", role,
                "description", "made by a test"));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.header("Location")).isEqualTo("/api/v1/tokens/" + created.json().get("id").asString());
        return created.json();
    }

    private String revokedToken() {
        JsonNode token = createToken("admin");
        assertThat(api.delete("/api/v1/tokens/" + token.get("id").asString()).status()).isEqualTo(204);
        return token.get("token").asString();
    }

    private static String suffix() {
        return UUID.randomUUID().toString().substring(0, 8);
    }
}
