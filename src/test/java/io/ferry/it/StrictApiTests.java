package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.contract.OpenApiContract;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Issue 12, item 5: the API refuses every malformed request cleanly. One test per finding of
 * the probe, then the seeded fuzz over every operation of openapi.yaml (item 6, first half).
 * A mix-in for a test class that runs a control plane ({@link H2ControlPlaneApiTest}), so the
 * fuzz shares its server instead of starting one of its own.
 */
interface StrictApiTests {

    long MEBIBYTE = 1L << 20;

    /** The client of the running control plane, with the API token. */
    ApiClient client();

    int serverPort();

    // ---- fixtures -------------------------------------------------------------------------

    private String guest(String host) {
        Map<String, Object> body = new HashMap<>();
        body.put("name", "strict-" + UUID.randomUUID().toString().substring(0, 8));
        body.put("hostId", host);
        body.put("memoryBytes", 16 * MEBIBYTE);
        body.put("disks", List.of(Map.of("name", "root", "sizeBytes", 4 * MEBIBYTE)));
        body.put("workload", Map.of("dirtyPagesPerSecond", 2000, "hotSetFraction", 0.5, "diskWritesPerSecond", 0,
                "seed", 1));
        ApiClient.Reply created = client().post("/api/v1/guests", body);
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        return created.json().get("id").asString();
    }

    private static void assertProblem(ApiClient.Reply reply, int status) {
        assertThat(reply.status()).as(reply.body()).isEqualTo(status);
        assertThat(reply.contentType()).as(reply.body()).startsWith("application/problem+json");
        List<String> violations = OpenApiContract.shared().violations("Problem", reply.body());
        assertThat(violations).as(reply.body()).isEmpty();
        assertThat(ApiFuzz.JAVA_NAME.matcher(reply.body()).find()).as("names a Java class: " + reply.body()).isFalse();
        assertThat(reply.json().get("status").asInt()).isEqualTo(status);
    }

    private static List<String> fields(ApiClient.Reply reply) {
        return reply.json().path("errors").findValuesAsString("field");
    }

    // ---- the probe's findings -------------------------------------------------------------

    @Test
    default void aWildcardOrNonJsonContentTypeIs415BeforeAnythingHappens() {
        String guestId = guest("host-a");
        int guests = client().get("/api/v1/guests").json().size();
        String guestBody = "{\"name\":\"x\",\"hostId\":\"host-a\",\"memoryBytes\":16777216}";
        for (String type : List.of("*/*", "text/plain", "application/merge-patch+json", "application/json; charset=utf-16",
                "application/json; foo=bar", "application/x-www-form-urlencoded")) {
            assertProblem(client().exchange("POST", "/api/v1/guests", type, guestBody, Map.of()), 415);
            assertProblem(client().exchange("POST", "/api/v1/migrations", type,
                    "{\"guestId\":\"" + guestId + "\",\"destinationHostId\":\"host-b\"}", Map.of()), 415);
            assertProblem(client().exchange("PATCH", "/api/v1/migrations/" + UUID.randomUUID(), type,
                    "{\"maxBandwidth\":1}", Map.of()), 415);
        }
        assertThat(client().get("/api/v1/guests").json().size()).isEqualTo(guests);
        assertThat(client().get("/api/v1/migrations?guestId=" + guestId).json().get("items")).isEmpty();
        // the two spellings of JSON that are taken
        for (String type : List.of("application/json", "application/json;charset=UTF-8", "Application/JSON; charset=\"utf-8\"")) {
            ApiClient.Reply ok = client().exchange("PUT", "/api/v1/guests/" + guestId + "/labels", type,
                    "{\"labels\":{\"a\":\"b\"}}", Map.of());
            assertThat(ok.status()).as(type + ": " + ok.body()).isEqualTo(200);
        }
    }

    @Test
    default void aPageBeyondTheLimitOrNotDecimalIs400NamingPage() {
        for (String query : List.of("page=10737419&size=200", "page=0x10", "page=+1", "page=-1", "page=1e3",
                "page=99999999999999999999", "size=0x10", "size=201", "page=")) {
            ApiClient.Reply refused = client().get("/api/v1/migrations?" + query);
            assertProblem(refused, 400);
            assertThat(fields(refused)).as(query).containsAnyOf("page", "size");
        }
        assertThat(client().get("/api/v1/migrations?page=10000000&size=200").status()).isEqualTo(200);
        assertProblem(client().post("/api/v1/migrations/preflight?dirtyRateWindowMs=0x64",
                Map.of("guestId", UUID.randomUUID(), "destinationHostId", "host-b")), 400);
        assertProblem(client().exchange("GET", "/api/v1/events", null, null, Map.of("Last-Event-ID", "0x10")), 400);
    }

    @Test
    default void theErrorPathIsAProblemNeverA500() {
        for (ApiClient c : List.of(client(), client().withToken(null))) {
            for (String method : List.of("GET", "POST", "DELETE")) {
                ApiClient.Reply reply = c.exchange(method, "/error", null, null, Map.of());
                assertThat(reply.status()).as(method + " /error: " + reply.body()).isIn(401, 404);
                assertProblem(reply, reply.status());
            }
        }
    }

    @Test
    default void wronglyTypedJsonIsRefusedNotCoerced() {
        String guestId = guest("host-a");
        ApiClient.Reply created = client().post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("maxBandwidth", MEBIBYTE, "downtimeLimitMs", 50)));
        assertThat(created.status()).as(created.body()).isEqualTo(202);
        String jobId = created.json().get("id").asString();
        try {
            for (String bad : List.of("{\"maxBandwidth\":0.5}", "{\"maxBandwidth\":\"131072\"}", "{\"downtimeLimitMs\":1.5}",
                    "{\"maxBandwidth\":true}", "{\"maxBandwidth\":1e3}", "{\"maxBandwidth\":99999999999999999999}",
                    "{\"maxBandwidth\":1,\"maxBandwidth\":2}", "{\"maxBandwidth\":1} {}")) {
                ApiClient.Reply refused = client().exchange("PATCH", "/api/v1/migrations/" + jobId, "application/json",
                        bad, Map.of());
                assertProblem(refused, 400);
                assertThat(refused.body()).doesNotContain("java.", "Long", "Integer");
            }
            JsonNode job = client().get("/api/v1/migrations/" + jobId).json();
            assertThat(job.path("parameters").path("maxBandwidth").asLong()).as("the job stays limited").isEqualTo(MEBIBYTE);
            assertThat(fields(client().exchange("PATCH", "/api/v1/migrations/" + jobId, "application/json",
                    "{\"maxBandwidth\":0.5}", Map.of()))).containsExactly("maxBandwidth");
        } finally {
            client().post("/api/v1/migrations/" + jobId + "/cancel", null);
        }
        int guests = client().get("/api/v1/guests").json().size();
        for (String bad : List.of("\"memoryBytes\":16777216.9", "\"memoryBytes\":\"16777216\"", "\"name\":true,\"memoryBytes\":16777216",
                "\"name\":5,\"memoryBytes\":16777216", "\"memoryBytes\":16777216,\"labels\":{\"a\":1}",
                "\"memoryBytes\":16777216,\"workload\":{\"hotSetFraction\":\"0.5\"}")) {
            String body = "{" + (bad.contains("\"name\"") ? "" : "\"name\":\"typed\",") + "\"hostId\":\"host-a\"," + bad + "}";
            ApiClient.Reply refused = client().exchange("POST", "/api/v1/guests", "application/json", body, Map.of());
            assertProblem(refused, 400);
            assertThat(refused.json().get("title").asString()).isEqualTo("Invalid request");
        }
        assertThat(client().get("/api/v1/guests").json().size()).isEqualTo(guests);
        String other = guest("host-a");
        for (String bad : List.of("\"verifyChecksums\":1", "\"verifyChecksums\":\"true\"", "\"maxBandwidth\":1.5",
                "\"downtimeLimitMs\":\"300\"", "\"capabilities\":{\"postcopy\":0}")) {
            ApiClient.Reply refused = client().exchange("POST", "/api/v1/migrations", "application/json",
                    "{\"guestId\":\"" + other + "\",\"destinationHostId\":\"host-b\",\"parameters\":{" + bad + "}}", Map.of());
            assertProblem(refused, 400);
            assertThat(fields(refused).get(0)).startsWith("parameters.");
        }
        assertThat(client().get("/api/v1/migrations?guestId=" + other).json().get("items")).isEmpty();
        // a fraction where the contract has a number stays allowed, and an integer for it too
        ApiClient.Reply whole = client().exchange("POST", "/api/v1/guests", "application/json",
                "{\"name\":\"whole\",\"hostId\":\"host-a\",\"memoryBytes\":16777216,\"workload\":{\"hotSetFraction\":1}}", Map.of());
        assertThat(whole.status()).as(whole.body()).isEqualTo(201);
    }

    @Test
    default void everyErrorIsAProblemWhoeverWritesIt() {
        // 405 from the framework, with Allow
        ApiClient.Reply wrongMethod = client().exchange("PATCH", "/api/v1/guests", "application/json", "{}", Map.of());
        assertProblem(wrongMethod, 405);
        assertThat(wrongMethod.header("Allow")).contains("GET", "POST");
        assertProblem(client().exchange("DELETE", "/api/v1/hosts", null, null, Map.of()), 405);
        // 404 for a path nobody serves
        assertProblem(client().exchange("GET", "/api/v1/nothing-here", null, null, Map.of()), 404);
        ApiClient.Reply outside = client().exchange("GET", "/nothing-here", null, null, Map.of());
        assertProblem(outside, outside.status());
        assertThat(outside.status()).isIn(403, 404);
        // 406 for an Accept without JSON, before the operation runs
        int guests = client().get("/api/v1/guests").json().size();
        for (String accept : List.of("text/html", "application/xml", "application/json;q=0", "garbage//x")) {
            ApiClient.Reply refused = client().exchange("POST", "/api/v1/guests", "application/json",
                    "{\"name\":\"n\",\"hostId\":\"host-a\",\"memoryBytes\":16777216}", Map.of("Accept", accept));
            assertProblem(refused, 406);
            assertProblem(client().exchange("GET", "/api/v1/hosts", null, null, Map.of("Accept", accept)), 406);
        }
        assertThat(client().get("/api/v1/guests").json().size()).as("a 406 created nothing").isEqualTo(guests);
        assertProblem(client().exchange("GET", "/api/v1/events", null, null, Map.of("Accept", "application/json")), 406);
        assertThat(client().exchange("GET", "/api/v1/hosts", null, null, Map.of("Accept", "application/yaml, */*;q=0.1"))
                .contentType()).startsWith("application/json");
        // what Tomcat refuses before any servlet runs
        String token = ApiTestSupport.API_TOKEN;
        for (String target : List.of("/api/v1/guests/%zz", "/api/v1/guests/%00", "/api/v1/guests/%", "/api/v1/%2e%2e/%2e%2e/x",
                "/api/v1/guests/" + "a".repeat(10_000), "/api/v1/guests/%C0%AF")) {
            RawHttp.Answer answer = RawHttp.send(serverPort(), "GET", target, token);
            assertRawProblem(answer, target);
        }
        // CONNECT (a proxy's method) is Tomcat's 501 Not Implemented, as RFC 9110 has it, now as a problem too
        RawHttp.Answer connect = RawHttp.send(serverPort(), "CONNECT", "127.0.0.1:" + serverPort(), token);
        assertThat(connect.status()).isEqualTo(501);
        assertThat(connect.header("content-type")).startsWith("application/problem+json");
        assertThat(OpenApiContract.shared().violations("Problem", connect.body())).isEmpty();
        assertRawProblem(RawHttp.send(serverPort(), "TRACE", "/api/v1/hosts", token), "TRACE");
        assertRawProblem(RawHttp.send(serverPort(), "GET", "/api/v1/guests/%zz", null), "%zz without a token");
    }

    private static void assertRawProblem(RawHttp.Answer answer, String what) {
        String shown = RawHttp.abbreviate(what) + " -> " + answer.status() + " " + answer.headers() + " " + answer.body();
        assertThat(answer.status()).as(shown).isBetween(400, 499);
        assertThat(answer.header("content-type")).as(shown).startsWith("application/problem+json");
        assertThat(OpenApiContract.shared().violations("Problem", answer.body())).as(shown).isEmpty();
        assertThat(answer.body()).as(shown).doesNotContain("Tomcat", "<html", "Exception");
    }

    @Test
    default void onlyCanonicalUuidsAreTaken() {
        String guestId = guest("host-a");
        for (String bad : List.of("1-2-3-4-5", "0-0-0-0-0", "{" + guestId + "}", guestId.replace("-", ""),
                guestId + "0", "AAAAAAAAAAAAAAAAAAAAAA==")) {
            ApiClient.Reply path = client().get("/api/v1/guests/" + bad.replace("{", "%7B").replace("}", "%7D")
                    .replace("=", "%3D"));
            assertProblem(path, 400);
            assertThat(fields(path)).containsExactly("guestId");
            assertProblem(client().get("/api/v1/migrations?guestId=" + bad.replace("{", "%7B").replace("}", "%7D")
                    .replace("=", "%3D")), 400);
            ApiClient.Reply body = client().exchange("POST", "/api/v1/migrations", "application/json",
                    "{\"guestId\":\"" + bad + "\",\"destinationHostId\":\"host-b\"}", Map.of());
            assertProblem(body, 400);
            assertThat(fields(body)).containsExactly("guestId");
        }
        // upper-case hexadecimal is still the canonical form
        assertThat(client().get("/api/v1/guests/" + guestId.toUpperCase()).status()).isEqualTo(200);
    }

    @Test
    default void verifyChecksumsWithPostcopyIsRefusedWith422FromTheRequestOrAPolicy() {
        String guestId = guest("host-a");
        ApiClient.Reply refused = client().post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("verifyChecksums", true,
                        "capabilities", Map.of("postcopy", true))));
        assertProblem(refused, 422);
        assertThat(refused.json().get("unsupported").toString()).contains("verifyChecksums");
        assertThat(refused.json().get("detail").asString()).contains("post-copy", "verif");

        String label = "strict-" + UUID.randomUUID().toString().substring(0, 8);
        ApiClient.Reply policy = client().post("/api/v1/policies", Map.of("name", label,
                "guestSelector", Map.of("strict", label), "allowPostcopy", true, "verifyChecksums", true));
        assertThat(policy.status()).as(policy.body()).isEqualTo(201);
        try {
            assertThat(client().put("/api/v1/guests/" + guestId + "/labels", Map.of("labels", Map.of("strict", label)))
                    .status()).isEqualTo(200);
            ApiClient.Reply byPolicy = client().post("/api/v1/migrations",
                    Map.of("guestId", guestId, "destinationHostId", "host-b"));
            assertProblem(byPolicy, 422);
            assertThat(byPolicy.json().get("unsupported").toString()).contains("verifyChecksums");
            ApiClient.Reply half = client().post("/api/v1/migrations", Map.of("guestId", guestId,
                    "destinationHostId", "host-b", "parameters", Map.of("verifyChecksums", true)));
            assertProblem(half, 422);
            assertThat(client().get("/api/v1/migrations?guestId=" + guestId).json().get("items")).isEmpty();
            // the request may take one of the two back
            ApiClient.Reply preflight = client().post("/api/v1/migrations/preflight?dirtyRateWindowMs=100",
                    Map.of("guestId", guestId, "destinationHostId", "host-b",
                            "parameters", Map.of("capabilities", Map.of("postcopy", false))));
            assertThat(preflight.status()).as(preflight.body()).isEqualTo(200);
        } finally {
            client().delete("/api/v1/policies/" + label);
        }
    }

    @Test
    default void theEmbeddedControlPlaneListensOnLoopbackOnly() throws Exception {
        List<InetAddress> others = new ArrayList<>();
        for (NetworkInterface nic : java.util.Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (nic.isUp() && !nic.isLoopback()) {
                java.util.Collections.list(nic.getInetAddresses()).stream()
                        .filter(a -> a instanceof java.net.Inet4Address).forEach(others::add);
            }
        }
        org.junit.jupiter.api.Assumptions.assumeFalse(others.isEmpty(), "this machine has no address but loopback");
        for (InetAddress address : others) {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(address, serverPort()), 2000);
                throw new AssertionError("the control plane answers on " + address.getHostAddress());
            } catch (java.io.IOException refused) {
                // as it should be
            }
        }
    }

    // ---- the fuzz -------------------------------------------------------------------------

    /**
     * A few thousand generated requests over every operation (seed and count:
     * {@code -Dferry.fuzz.seed}, {@code -Dferry.fuzz.requests}); see {@link ApiFuzz} for what
     * is generated and checked.
     */
    @Test
    default void fuzzEveryOperation() {
        long seed = Long.getLong("ferry.fuzz.seed", 20261206L);
        int count = Integer.getInteger("ferry.fuzz.requests", 2000);
        ApiFuzz fuzz = new ApiFuzz("http://127.0.0.1:" + serverPort(), ApiTestSupport.API_TOKEN,
                OpenApiContract.shared(), seed);
        JsonNode initialLimits = client().get("/api/v1/admission").json().get("limits");
        ObjectNode limits = ((ObjectNode) initialLimits.deepCopy());
        limits.remove("hosts");
        fuzz.admissionLimits = limits;
        List<String> createdGuests = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String id = guest("host-a");
            createdGuests.add(id);
            fuzz.guests.add(id);
        }
        fuzz.disks.addAll(client().get("/api/v1/guests/" + createdGuests.get(0)).json().findValuesAsString("id").stream()
                .filter(id -> !id.equals(createdGuests.get(0))).toList());

        List<String> failures = new ArrayList<>();
        List<ApiFuzz.Request> sinceCheck = new ArrayList<>();
        String snapshot = snapshot();
        long started = System.nanoTime();
        for (int i = 0; i < count && failures.size() < 20; i++) {
            ApiFuzz.Request request = fuzz.next();
            boolean mayChange = ApiFuzz.mutating().contains(request.method()) && !request.forbidden();
            if (mayChange) {
                // everything refused since the last look must have left the state as it was
                String now = snapshot();
                if (!now.equals(snapshot)) {
                    failures.add("a refused request changed the state; one of " + sinceCheck + "\n  before: " + snapshot
                            + "\n  after:  " + now);
                }
                sinceCheck.clear();
                snapshot = now;
            }
            ApiFuzz.Answer answer = fuzz.send(request);
            for (String wrong : fuzz.judge(request, answer)) {
                failures.add("#" + i + " " + request + " -> " + answer.status() + " " + answer.contentType() + ": " + wrong
                        + "\n  body: " + RawHttp.abbreviate(String.valueOf(answer.body())));
            }
            if (answer.status() >= 200 && answer.status() < 300 && mayChange) {
                track(fuzz, request, answer, createdGuests);
                snapshot = snapshot();
            } else {
                sinceCheck.add(request);
            }
        }
        String last = snapshot();
        if (!last.equals(snapshot)) {
            failures.add("a refused request changed the state; one of " + sinceCheck + "\n  before: " + snapshot
                    + "\n  after:  " + last);
        }
        long seconds = (System.nanoTime() - started) / 1_000_000_000L;
        cleanUp(fuzz, createdGuests, limits);
        System.out.printf("API fuzz: seed %d, %d requests in %d s, %d failures; by operation and status: %s%n", seed,
                count, seconds, failures.size(), fuzz.statuses());
        assertThat(failures).as("fuzz seed %d, %d requests in %d s; answers by operation and status: %s", seed, count,
                seconds, fuzz.statuses()).isEmpty();
        // every operation was driven, and answered both ways
        assertThat(fuzz.statuses().keySet().stream().map(k -> k.substring(0, k.indexOf(' '))).distinct())
                .containsExactlyInAnyOrderElementsOf(fuzz.operationIds());
    }

    /** Keeps the exemplars pointing at what exists, and undoes what would reach beyond the fuzz. */
    private void track(ApiFuzz fuzz, ApiFuzz.Request request, ApiFuzz.Answer answer, List<String> createdGuests) {
        JsonMapper json = JsonMapper.builder().build();
        switch (request.operationId()) {
            case "createGuest" -> {
                String id = json.readTree(answer.body()).get("id").asString();
                createdGuests.add(id);
                fuzz.guests.add(id);
            }
            case "deleteGuest" -> fuzz.guests.removeIf(id -> request.path().contains(id));
            case "createMigration" -> fuzz.jobs.add(json.readTree(answer.body()).get("id").asString());
            case "createPolicy" -> client().delete("/api/v1/policies/fuzz-p");
            case "putPolicy" -> client().delete(request.path().substring(0, request.path().indexOf('?') < 0
                    ? request.path().length() : request.path().indexOf('?')));
            case "createSubscription" -> client().delete("/api/v1/subscriptions/"
                    + json.readTree(answer.body()).get("id").asString());
            default -> {
            }
        }
    }

    private void cleanUp(ApiFuzz fuzz, List<String> createdGuests, ObjectNode limits) {
        client().put("/api/v1/admission/limits", limits);
        client().delete("/api/v1/policies/fuzz-p");
        client().delete("/api/v1/policies/fuzz-missing");
        for (String job : fuzz.jobs) {
            client().post("/api/v1/migrations/" + job + "/cancel", null);
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> fuzz.jobs.stream()
                .map(j -> client().get("/api/v1/migrations/" + j).json().get("status").asString())
                .allMatch(s -> List.of("completed", "failed", "cancelled").contains(s)));
        for (String guest : createdGuests) {
            client().post("/api/v1/guests/" + guest + "/resume", null);
            client().delete("/api/v1/guests/" + guest);
        }
    }

    /**
     * Everything a request can change, and nothing that changes by itself: guests and their
     * labels, jobs and their parameters, policies, subscriptions, hosts' labels, cordons and
     * own limits, the admission limits. (Statuses, placements and progress move on their own.)
     */
    private String snapshot() {
        StringBuilder s = new StringBuilder();
        client().get("/api/v1/guests").json().forEach(g -> s.append("guest ").append(g.get("id").asString())
                .append(' ').append(g.get("name").asString()).append(' ').append(g.get("labels")).append('\n'));
        client().get("/api/v1/migrations?size=200").json().get("items").forEach(j -> s.append("job ")
                .append(j.get("id").asString()).append(' ').append(j.get("parameters")).append('\n'));
        s.append("policies ").append(client().get("/api/v1/policies").json()).append('\n');
        client().get("/api/v1/subscriptions").json().forEach(sub -> s.append("subscription ")
                .append(sub.get("id").asString()).append('\n'));
        client().get("/api/v1/hosts").json().forEach(h -> s.append("host ").append(h.get("id").asString()).append(' ')
                .append(h.get("labels")).append(' ').append(h.get("cordoned")).append(' ').append(h.get("limits")
                        .path("maxOutbound")).append('/').append(h.get("limits").path("maxInbound")).append('\n'));
        JsonNode admission = client().get("/api/v1/admission").json().get("limits");
        s.append("admission ").append(admission.get("maxJobs")).append(' ').append(admission.get("maxOutboundPerHost"))
                .append(' ').append(admission.get("maxInboundPerHost")).append(' ').append(admission.get("hosts"));
        return Objects.requireNonNull(s.toString());
    }
}
