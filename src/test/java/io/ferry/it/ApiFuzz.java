package io.ferry.it;

import io.ferry.contract.OpenApiContract;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A seeded request generator over every operation of openapi.yaml, and the oracle its answers
 * are judged by. Each request is an operation's valid exemplar, or that exemplar with one
 * thing broken (a value of the wrong JSON type, a fraction or a huge number for an integer, a
 * required property left out, an unknown one added, a non-canonical UUID in the path, query or
 * body, a hexadecimal or out-of-range page, a body that is not JSON or not
 * {@code application/json}, an {@code Accept} that admits no JSON, a method the path does not
 * have). Whether the contract forbids the request is decided by the contract itself (the
 * request body and parameters validated against their schemas), not by what was meant to be
 * broken. Checked for every answer: no 5xx; every error is a problem that validates against
 * the Problem schema and names no Java class; a declared operation's answer conforms to the
 * contract; a forbidden request gets no 2xx; and a refused request changes nothing (a
 * snapshot of everything the API can change is compared before every request that may
 * change something, and after the last one).
 */
final class ApiFuzz {

    static final Pattern JAVA_NAME = Pattern.compile("\\b(?:[a-z_][a-z0-9_]*\\.){2,}[A-Z][A-Za-z0-9_$]*");
    private static final List<String> METHODS = List.of("GET", "POST", "PUT", "PATCH", "DELETE");
    private static final Pattern DECIMAL = Pattern.compile("-?[0-9]+");

    /** One generated request; {@code forbidden} is the contract's verdict, {@code what} what was done. */
    record Request(String operationId, String method, String path, String contentType, String body,
                   Map<String, String> headers, boolean forbidden, String what) {

        @Override
        public String toString() {
            return method + " " + RawHttp.abbreviate(path) + (contentType == null ? "" : " [" + contentType + "]")
                    + (body == null ? "" : " " + RawHttp.abbreviate(body)) + (headers.isEmpty() ? "" : " " + headers)
                    + " (" + what + (forbidden ? ", forbidden" : "") + ")";
        }
    }

    record Answer(int status, String contentType, Map<String, List<String>> headers, String body) {

        String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().get(0)).findFirst().orElse(null);
        }
    }

    private record Operation(String id, String method, String template, JsonNode node) {
    }

    private final String base;
    private final String token;
    private final OpenApiContract contract;
    private final Random random;
    private final JsonMapper json = JsonMapper.builder().build();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Operation> operations = new ArrayList<>();
    private final Map<String, Supplier<ObjectNode>> exemplars = new TreeMap<>();
    private final Map<String, Integer> statuses = new TreeMap<>();

    // what the valid exemplars point at, kept current by the test
    final List<String> guests = new ArrayList<>();
    final List<String> jobs = new ArrayList<>();
    final List<String> disks = new ArrayList<>();
    JsonNode admissionLimits;

    ApiFuzz(String base, String token, OpenApiContract contract, long seed) {
        this.base = base;
        this.token = token;
        this.contract = contract;
        this.random = new Random(seed);
        JsonNode paths = contract.document().get("paths");
        for (String template : paths.propertyNames()) {
            for (String method : METHODS) {
                JsonNode op = paths.get(template).get(method.toLowerCase(Locale.ROOT));
                if (op != null) {
                    operations.add(new Operation(op.get("operationId").asString(), method, template, op));
                }
            }
        }
        exemplars();
    }

    List<String> operationIds() {
        return operations.stream().map(Operation::id).toList();
    }

    Map<String, Integer> statuses() {
        return statuses;
    }

    // ------------------------------------------------------------------ exemplars

    private void exemplars() {
        exemplars.put("setHostLabels", () -> obj("labels", obj("fuzz", "yes")));
        exemplars.put("setGuestLabels", () -> obj("labels", obj("fuzz", "yes")));
        exemplars.put("setHostLimits", () -> obj("maxOutbound", 2, "maxInbound", 2));
        exemplars.put("drainHost", () -> obj("maxAttempts", 1, "destinationSelector", obj("fuzz", "yes")));
        exemplars.put("setAdmissionLimits", () -> (ObjectNode) admissionLimits.deepCopy());
        exemplars.put("createPolicy", () -> policy(true));
        exemplars.put("putPolicy", () -> policy(false));
        exemplars.put("createGuest", () -> obj("name", "fuzz-guest", "hostId", "host-a", "memoryBytes", 16L << 20,
                "disks", arr(obj("name", "root", "sizeBytes", 4L << 20)),
                "workload", obj("dirtyPagesPerSecond", 0, "hotSetFraction", 0.5, "diskWritesPerSecond", 0, "seed", 7),
                "labels", obj("fuzz", "yes")));
        exemplars.put("createMigration", this::migration);
        exemplars.put("preflightMigration", this::migration);
        exemplars.put("measureGuestDirtyRate", () -> obj("windowMs", 100, "mode", "page-sampling",
                "samplePagesPerGiB", 512));
        exemplars.put("saveGuest", () -> obj("format", "ferry"));
        exemplars.put("tuneMigration", () -> obj("maxBandwidth", 4L << 20, "downtimeLimitMs", 300));
        exemplars.put("abandonMigration", () -> obj("keep", "source", "reason", "fuzz"));
        exemplars.put("createSubscription", () -> obj("url", "http://127.0.0.1:9/fuzz",
                "secret", "0123456789abcdef0123", "filter", obj("types", arr("job")), "description", "fuzz"));
    }

    private ObjectNode policy(boolean named) {
        ObjectNode p = obj("guestSelector", obj("fuzz-policy", "only"), "maxBandwidth", 1L << 20,
                "downtimeLimitMs", 300, "verifyChecksums", false, "escalation", arr("abort"),
                "progressTimeout", 600);
        if (named) {
            p.put("name", "fuzz-p");
        }
        return p;
    }

    private ObjectNode migration() {
        return obj("guestId", pick(guests, UUID.randomUUID().toString()), "destinationHostId", "host-b",
                "parameters", obj("maxBandwidth", 4L << 20, "downtimeLimitMs", 300,
                        "capabilities", obj("postcopy", false)));
    }

    // ------------------------------------------------------------------ generation

    Request next() {
        Operation op = operations.get(random.nextInt(operations.size()));
        boolean valid = random.nextInt(100) < 30;
        Map<String, String> pathValues = new LinkedHashMap<>();
        Map<String, String> query = new LinkedHashMap<>();
        Map<String, String> headers = new LinkedHashMap<>();
        for (JsonNode p : parameters(op)) {
            String in = p.get("in").asString();
            String name = p.get("name").asString();
            if (in.equals("path")) {
                pathValues.put(name, validPathValue(op, name));
            }
        }
        if (op.id().equals("listMigrations")) {
            query.put("size", Integer.toString(1 + random.nextInt(50)));
            if (random.nextBoolean()) {
                query.put("page", Integer.toString(random.nextInt(3)));
            }
        }
        if (op.id().equals("preflightMigration")) {
            query.put("dirtyRateWindowMs", "100");
        }
        ObjectNode body = exemplars.containsKey(op.id()) ? exemplars.get(op.id()).get() : null;
        String bodyText = body == null ? null : json.writeValueAsString(body);
        String contentType = body == null ? null : "application/json";
        String method = op.method();
        String what = "valid";

        if (!valid) {
            int kind = random.nextInt(9);
            switch (kind) {
                case 0, 1, 2 -> {
                    if (body != null) {
                        what = mutateBody(body);
                        bodyText = json.writeValueAsString(body);
                    } else {
                        what = mutateParameters(op, pathValues, query);
                    }
                }
                case 3 -> {
                    if (body != null) {
                        String[] raw = {"{", "[]", "null", "", "{\"a\":1} x", "\"text\"", "{\"labels\":{},\"labels\":{}}",
                                "{\"name\":\"a\",\"name\":\"b\"}", "{\"maxBandwidth\":1,\"maxBandwidth\":2}", "\u0000",
                                "{\"x\":1e999999}", "[" .repeat(2000)};
                        bodyText = raw[random.nextInt(raw.length)];
                        what = "raw body";
                    } else {
                        what = mutateParameters(op, pathValues, query);
                    }
                }
                case 4 -> {
                    String[] types = {"*/*", "text/plain", "application/merge-patch+json", "application/json; charset=utf-16",
                            "application/xml", "application/x-www-form-urlencoded", "application/json; foo=bar",
                            "application/*", "json", "application/json-patch+json", "multipart/form-data; boundary=x"};
                    contentType = types[random.nextInt(types.length)];
                    if (bodyText == null) {
                        bodyText = "{}";
                    }
                    what = "content type " + contentType;
                }
                case 5 -> {
                    String[] accepts = {"text/html", "application/xml", "image/png", "application/json;q=0",
                            "text/plain, image/*", "application/yaml", "garbage//x"};
                    String accept = accepts[random.nextInt(accepts.length)];
                    headers.put("Accept", accept);
                    what = "accept " + accept;
                }
                case 6 -> {
                    List<String> others = new ArrayList<>(METHODS);
                    JsonNode item = contract.document().get("paths").get(op.template());
                    others.removeIf(m -> item.has(m.toLowerCase(Locale.ROOT)));
                    if (others.isEmpty()) {
                        what = mutateParameters(op, pathValues, query);
                    } else {
                        method = others.get(random.nextInt(others.size()));
                        what = "method " + method;
                    }
                }
                default -> what = mutateParameters(op, pathValues, query);
            }
        }
        String path = op.template();
        for (Map.Entry<String, String> e : pathValues.entrySet()) {
            path = path.replace("{" + e.getKey() + "}", escape(e.getValue()));
        }
        if (!query.isEmpty()) {
            StringBuilder q = new StringBuilder();
            query.forEach((k, v) -> q.append(q.isEmpty() ? "?" : "&").append(k).append('=').append(escape(v)));
            path += q;
        }
        boolean forbidden = forbidden(op, method, pathValues, query, contentType, bodyText, headers);
        return new Request(op.id(), method, path, contentType, bodyText, headers, forbidden, what);
    }

    /** Percent-encodes what a URI may not hold as is ({@code {}}, spaces); the server decodes it back. */
    private static String escape(String value) {
        StringBuilder out = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) {
                out.append(c);
            } else {
                out.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return out.toString();
    }

    private String validPathValue(Operation op, String name) {
        boolean mutating = !op.method().equals("GET");
        return switch (name) {
            case "hostId" -> mutating ? "fuzz-nohost" : pick(List.of("host-a", "host-b"), "host-a");
            case "guestId" -> random.nextInt(4) == 0 ? UUID.randomUUID().toString() : pick(guests, UUID.randomUUID().toString());
            case "jobId" -> random.nextInt(4) == 0 ? UUID.randomUUID().toString() : pick(jobs, UUID.randomUUID().toString());
            case "diskId" -> random.nextInt(4) == 0 ? UUID.randomUUID().toString() : pick(disks, UUID.randomUUID().toString());
            case "name" -> random.nextBoolean() ? "fuzz-p" : "fuzz-missing";
            default -> UUID.randomUUID().toString();
        };
    }

    private static final String[] BAD_UUIDS = {"1-2-3-4-5", "not-a-uuid", "0000000000000000000000000000000",
            "00000000-0000-0000-0000-00000000000g", "{00000000-0000-0000-0000-000000000000}",
            "AAAAAAAAAAAAAAAAAAAAAA==", "00000000000000000000000000000000", "0-0-0-0-0", "12345678-1234-1234-1234-1234567890123"};
    private static final String[] BAD_INTEGERS = {"0x10", "+1", "-1", "1e3", "1.5", "99999999999999999999", "10737419",
            "%20", "abc", "2147483648", "-0x1", "٣"};

    private String mutateParameters(Operation op, Map<String, String> pathValues, Map<String, String> query) {
        List<String> uuidPath = new ArrayList<>();
        for (String name : pathValues.keySet()) {
            if (!name.equals("hostId") && !name.equals("name")) {
                uuidPath.add(name);
            }
        }
        if (!uuidPath.isEmpty() && random.nextBoolean()) {
            String name = uuidPath.get(random.nextInt(uuidPath.size()));
            String bad = BAD_UUIDS[random.nextInt(BAD_UUIDS.length)];
            pathValues.put(name, bad);
            return "path " + name + "=" + bad;
        }
        switch (op.id()) {
            case "listMigrations" -> {
                int k = random.nextInt(5);
                if (k == 0) {
                    query.put("guestId", BAD_UUIDS[random.nextInt(BAD_UUIDS.length)]);
                } else if (k == 1) {
                    query.put("page", BAD_INTEGERS[random.nextInt(BAD_INTEGERS.length)]);
                } else if (k == 2) {
                    query.put("size", random.nextBoolean() ? "200" : BAD_INTEGERS[random.nextInt(BAD_INTEGERS.length)]);
                    query.put("page", "10737419");
                } else if (k == 3) {
                    query.put("status", random.nextBoolean() ? "ACTIVE" : "bogus");
                } else {
                    query.put("size", random.nextBoolean() ? "0" : "201");
                }
                return "query " + query;
            }
            case "preflightMigration" -> {
                query.put("dirtyRateWindowMs", random.nextBoolean() ? "0x64" : BAD_INTEGERS[random.nextInt(BAD_INTEGERS.length)]);
                return "query " + query;
            }
            case "streamEvents" -> {
                if (random.nextBoolean()) {
                    query.put(random.nextBoolean() ? "job" : "guest", BAD_UUIDS[random.nextInt(BAD_UUIDS.length)]);
                } else {
                    query.put("type", "bogus");
                }
                return "query " + query;
            }
            default -> {
                // an unknown query parameter is ignored (as the contract allows); send a bad UUID instead where there is one
                if (!uuidPath.isEmpty()) {
                    String name = uuidPath.get(0);
                    pathValues.put(name, "1-2-3-4-5");
                    return "path " + name + "=1-2-3-4-5";
                }
                query.put("unknown", "1");
                return "unknown query parameter";
            }
        }
    }

    /** Breaks one thing in the body; says what. */
    private String mutateBody(ObjectNode body) {
        List<String> paths = new ArrayList<>();
        collect(body, "", paths);
        int kind = random.nextInt(6);
        if (kind == 0 || paths.isEmpty()) {
            ObjectNode target = body;
            target.put("unknownProperty", 1);
            return "extra property";
        }
        String path = paths.get(random.nextInt(paths.size()));
        JsonNode current = at(body, path);
        ObjectNode parent = (ObjectNode) at(body, parentOf(path));
        String field = path.substring(path.lastIndexOf('/') + 1);
        if (kind == 1) {
            parent.remove(field);
            return "without " + path;
        }
        JsonNodeFactory f = JsonNodeFactory.instance;
        JsonNode replacement;
        if (current.isIntegralNumber()) {
            JsonNode[] bad = {f.numberNode(0.5), f.numberNode(1.5), f.stringNode(current.asString()), f.booleanNode(true),
                    f.numberNode(new java.math.BigDecimal("16777216.9")), f.numberNode(new java.math.BigInteger("99999999999999999999999")),
                    f.numberNode(-1), f.numberNode(Long.MAX_VALUE), f.numberNode(new java.math.BigDecimal("1e400")),
                    f.arrayNode(), f.objectNode()};
            replacement = bad[random.nextInt(bad.length)];
        } else if (current.isNumber()) {
            JsonNode[] bad = {f.stringNode("0.5"), f.booleanNode(true), f.numberNode(2.5), f.numberNode(-1), f.numberNode(new java.math.BigDecimal("1e400")), f.nullNode()};
            replacement = bad[random.nextInt(bad.length)];
        } else if (current.isBoolean()) {
            JsonNode[] bad = {f.numberNode(1), f.numberNode(0), f.stringNode("true"), f.stringNode("yes"), f.arrayNode()};
            replacement = bad[random.nextInt(bad.length)];
        } else if (current.isString() && isUuid(current.asString())) {
            replacement = f.stringNode(BAD_UUIDS[random.nextInt(BAD_UUIDS.length)]);
        } else if (current.isString()) {
            JsonNode[] bad = {f.booleanNode(true), f.numberNode(5), f.numberNode(1.5), f.stringNode(""), f.stringNode(" "),
                    f.stringNode("x".repeat(5000)), f.arrayNode(), f.objectNode(), f.stringNode("\u0000")};
            replacement = bad[random.nextInt(bad.length)];
        } else if (current.isObject()) {
            JsonNode[] bad = {f.stringNode("x"), f.numberNode(1), f.arrayNode(), obj("k", 1), obj("bad key!", "v")};
            replacement = bad[random.nextInt(bad.length)];
        } else {
            JsonNode[] bad = {f.stringNode("x"), f.numberNode(1), f.objectNode(), arr(1, true)};
            replacement = bad[random.nextInt(bad.length)];
        }
        parent.set(field, replacement);
        return path + "=" + RawHttp.abbreviate(replacement.toString());
    }

    private static void collect(JsonNode node, String at, List<String> out) {
        if (node.isObject()) {
            for (String name : node.propertyNames()) {
                out.add(at + "/" + name);
                collect(node.get(name), at + "/" + name, out);
            }
        }
    }

    private static JsonNode at(JsonNode root, String pointer) {
        return pointer.isEmpty() ? root : root.at(pointer);
    }

    private static String parentOf(String pointer) {
        return pointer.substring(0, pointer.lastIndexOf('/'));
    }

    // ------------------------------------------------------------------ the contract's verdict

    private List<JsonNode> parameters(Operation op) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode p : op.node().path("parameters")) {
            out.add(p.has("$ref") ? contract.document().at(p.get("$ref").asString().substring(1)) : p);
        }
        return out;
    }

    private boolean forbidden(Operation op, String method, Map<String, String> pathValues, Map<String, String> query,
                              String contentType, String body, Map<String, String> headers) {
        if (!method.equals(op.method())) {
            return true;
        }
        String accept = headers.get("Accept");
        if (accept != null && !acceptsJson(accept, op.id().equals("streamEvents"))) {
            return true;
        }
        List<JsonNode> params = parameters(op);
        for (JsonNode p : params) {
            String name = p.get("name").asString();
            String in = p.get("in").asString();
            String value = in.equals("path") ? pathValues.get(name) : in.equals("query") ? query.get(name) : null;
            if (value != null && !conforms(p.get("schema"), value)) {
                return true;
            }
        }
        for (String name : query.keySet()) {
            if (params.stream().noneMatch(p -> p.get("name").asString().equals(name))) {
                continue;   // not a parameter of the operation: ignored
            }
        }
        JsonNode requestBody = op.node().get("requestBody");
        if (requestBody == null) {
            return false;
        }
        if (body == null) {
            return requestBody.path("required").asBoolean(false);
        }
        if (contentType == null || !contentType.replace(" ", "").toLowerCase(Locale.ROOT)
                .matches("application/json(;charset=\"?utf-8\"?)?")) {
            return true;
        }
        JsonNode parsed;
        try {
            parsed = json.readTree(body);
        } catch (RuntimeException notJson) {
            return true;
        }
        if (parsed == null || parsed.isMissingNode() || hasDuplicateKeys(body)) {
            return true;
        }
        String schemaRef = requestBody.path("content").path("application/json").path("schema").path("$ref").asString();
        // null for an optional property means absent (openapi.yaml's conventions)
        return !contract.violations(schemaRef.substring(schemaRef.lastIndexOf('/') + 1),
                json.writeValueAsString(withoutNulls(parsed))).isEmpty();
    }

    private static JsonNode withoutNulls(JsonNode node) {
        if (node.isObject()) {
            ObjectNode copy = JsonNodeFactory.instance.objectNode();
            for (String name : node.propertyNames()) {
                if (!node.get(name).isNull()) {
                    copy.set(name, withoutNulls(node.get(name)));
                }
            }
            return copy;
        }
        if (node.isArray()) {
            ArrayNode copy = JsonNodeFactory.instance.arrayNode();
            node.forEach(item -> copy.add(withoutNulls(item)));
            return copy;
        }
        return node;
    }

    private boolean conforms(JsonNode schema, String value) {
        String type = schema.path("type").asString();
        JsonNode instance;
        if (type.equals("integer") || type.equals("number")) {
            if (!DECIMAL.matcher(value).matches()) {
                return false;
            }
            instance = JsonNodeFactory.instance.numberNode(new java.math.BigInteger(value));
        } else {
            instance = JsonNodeFactory.instance.stringNode(value);
        }
        if (schema.path("format").asString().equals("uuid") && !isUuid(value)) {
            return false;
        }
        if (schema.has("minimum") && instance.isNumber() && instance.bigIntegerValue().compareTo(schema.get("minimum").bigIntegerValue()) < 0) {
            return false;
        }
        if (schema.has("maximum") && instance.isNumber() && instance.bigIntegerValue().compareTo(schema.get("maximum").bigIntegerValue()) > 0) {
            return false;
        }
        if (schema.has("enum")) {
            boolean listed = false;
            for (JsonNode e : schema.get("enum")) {
                listed |= e.asString().equals(value);
            }
            return listed;
        }
        if (schema.has("format") && schema.get("format").asString().equals("int32") && instance.isNumber()
                && instance.bigIntegerValue().bitLength() > 31) {
            return false;
        }
        if (schema.has("format") && schema.get("format").asString().equals("int64") && instance.isNumber()
                && instance.bigIntegerValue().bitLength() > 63) {
            return false;
        }
        return true;
    }

    private boolean hasDuplicateKeys(String body) {
        try {
            JsonMapper.builder().enable(tools.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build()
                    .readTree(body);
            return false;
        } catch (RuntimeException duplicate) {
            return true;
        }
    }

    private static boolean acceptsJson(String accept, boolean eventStream) {
        try {
            for (org.springframework.http.MediaType t : org.springframework.http.MediaType.parseMediaTypes(accept)) {
                if (t.getQualityValue() > 0 && t.isCompatibleWith(eventStream ? org.springframework.http.MediaType.TEXT_EVENT_STREAM
                        : org.springframework.http.MediaType.APPLICATION_JSON)) {
                    return true;
                }
            }
        } catch (RuntimeException invalid) {
            return false;
        }
        return false;
    }

    static boolean isUuid(String text) {
        return text.matches("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    }

    // ------------------------------------------------------------------ sending and judging

    Answer send(Request r) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + r.path())).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token);
        r.headers().forEach(b::header);
        if (r.contentType() != null) {
            b.header("Content-Type", r.contentType());
        }
        b.method(r.method(), r.body() == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(r.body(), StandardCharsets.UTF_8));
        try {
            HttpResponse<InputStream> response = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            String type = response.headers().firstValue("Content-Type").orElse(null);
            String text;
            try (InputStream in = response.body()) {
                // an event stream that was accepted never ends: its headers are the answer
                text = type != null && type.startsWith("text/event-stream") ? "" : new String(in.readAllBytes(),
                        StandardCharsets.UTF_8);
            }
            statuses.merge(r.operationId() + " " + response.statusCode(), 1, Integer::sum);
            return new Answer(response.statusCode(), type, response.headers().map(), text);
        } catch (IOException e) {
            throw new IllegalStateException(r + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** What is wrong with this answer to this request (empty: nothing). */
    List<String> judge(Request r, Answer a) {
        List<String> wrong = new ArrayList<>();
        if (a.status() >= 500) {
            wrong.add("answered " + a.status());
        }
        if (r.forbidden() && a.status() < 400) {
            wrong.add("the contract forbids this request, but it was answered " + a.status());
        }
        if (a.status() >= 400) {
            wrong.addAll(problemViolations(a.status(), a.contentType(), a.body()));
            if (a.status() == 405 && a.header("Allow") == null) {
                wrong.add("405 without Allow");
            }
        }
        boolean declared = contract.declares(r.method(), r.path());
        if (declared && !(a.contentType() != null && a.contentType().startsWith("text/event-stream"))) {
            try {
                contract.assertResponseConforms(r.method(), r.path(), a.status(), a.contentType(), a.body());
            } catch (AssertionError e) {
                wrong.add(e.getMessage());
            }
        }
        return wrong;
    }

    List<String> problemViolations(int status, String contentType, String body) {
        List<String> wrong = new ArrayList<>();
        if (contentType == null || !contentType.startsWith("application/problem+json")) {
            wrong.add(status + " is not application/problem+json but " + contentType);
            return wrong;
        }
        wrong.addAll(contract.violations("Problem", body));
        if (JAVA_NAME.matcher(body).find()) {
            wrong.add("the problem names a Java class: " + body);
        }
        try {
            JsonNode problem = json.readTree(body);
            if (problem.path("status").asInt() != status) {
                wrong.add("problem status " + problem.path("status") + " is not the answer's " + status);
            }
        } catch (RuntimeException e) {
            wrong.add("problem is not JSON");
        }
        return wrong;
    }

    // ------------------------------------------------------------------ helpers

    private <T> T pick(List<T> from, T otherwise) {
        return from.isEmpty() ? otherwise : from.get(random.nextInt(from.size()));
    }

    static ObjectNode obj(Object... pairs) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        for (int i = 0; i < pairs.length; i += 2) {
            node.set((String) pairs[i], value(pairs[i + 1]));
        }
        return node;
    }

    static ArrayNode arr(Object... values) {
        ArrayNode node = JsonNodeFactory.instance.arrayNode();
        for (Object v : values) {
            node.add(value(v));
        }
        return node;
    }

    private static JsonNode value(Object v) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (v instanceof JsonNode n) {
            return n;
        } else if (v instanceof String s) {
            return f.stringNode(s);
        } else if (v instanceof Integer i) {
            return f.numberNode(i);
        } else if (v instanceof Long l) {
            return f.numberNode(l);
        } else if (v instanceof Double d) {
            return f.numberNode(d);
        } else if (v instanceof Boolean b) {
            return f.booleanNode(b);
        }
        throw new IllegalArgumentException(String.valueOf(v));
    }

    static Set<String> mutating() {
        return Set.of("POST", "PUT", "PATCH", "DELETE");
    }
}
