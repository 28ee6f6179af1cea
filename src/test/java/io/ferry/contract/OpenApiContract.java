package io.ferry.contract;

import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.dialect.Dialects;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The written API contract ({@code openapi.yaml} at the project root) as a test oracle.
 *
 * <p>{@link #assertResponseConforms} checks one real response against the operation the spec
 * declares for its method and path: the status code (or {@code default}) must be declared,
 * the content type must be one of the response's media types, and a JSON body must validate
 * against the declared schema (JSON Schema 2020-12 in the OpenAPI 3.1 dialect, with
 * {@code format} asserted, via networknt json-schema-validator). {@code $ref}s resolve against
 * the spec document itself. Any disagreement fails with an {@link AssertionError} that names
 * the operation, lists every violation and shows the body.
 *
 * <p>{@link #operations()} lists {@code "METHOD /path/{template}"} for every operation, in the
 * notation of Spring's request-mapping patterns, so a test can compare it with the handler
 * mappings of the running application.
 *
 * <p>Instances are immutable and thread-safe; {@link #shared()} caches the project's spec.
 */
public final class OpenApiContract {

    /** Where Maven runs tests from: the project directory. */
    public static final Path DEFAULT_SPEC = Path.of("openapi.yaml");

    /** Made-up, never fetched: the validator finds the document under this IRI in its own map. */
    private static final String SPEC_IRI = "https://contract.ferry.invalid/openapi.json";

    private static final List<String> HTTP_METHODS =
            List.of("get", "put", "post", "delete", "options", "head", "patch", "trace");
    private static final Pattern TEMPLATE_VARIABLE = Pattern.compile("\\{[^/{}]+}");
    private static final int MAX_BODY_IN_MESSAGE = 4000;

    private static volatile OpenApiContract shared;

    private final Path source;
    private final JsonNode spec;
    private final SchemaRegistry registry;
    private final List<Route> routes;
    private final Map<String, Schema> schemas = new ConcurrentHashMap<>();
    private final JsonMapper json = JsonMapper.builder().build();

    private OpenApiContract(Path source, JsonNode spec) {
        this.source = source;
        this.spec = spec;
        String document = json.writeValueAsString(spec);
        SchemaRegistryConfig config = SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build();
        this.registry = SchemaRegistry.withDialect(Dialects.getOpenApi31(), builder -> builder
                .schemaRegistryConfig(config)
                .schemas(Map.of(SPEC_IRI, document)));
        this.routes = routes(spec);
    }

    /** The project's {@code openapi.yaml}, read once per JVM. */
    public static OpenApiContract shared() {
        OpenApiContract contract = shared;
        if (contract == null) {
            synchronized (OpenApiContract.class) {
                contract = shared;
                if (contract == null) {
                    contract = load(DEFAULT_SPEC);
                    shared = contract;
                }
            }
        }
        return contract;
    }

    /** Reads {@code openapi.yaml} from the project directory (the working directory of Maven's tests). */
    public static OpenApiContract load() {
        return load(DEFAULT_SPEC);
    }

    public static OpenApiContract load(Path specFile) {
        String text;
        try {
            text = Files.readString(specFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the API contract " + specFile.toAbsolutePath(), e);
        }
        return parse(specFile, text);
    }

    /** Parses a spec given as YAML (or JSON, which is YAML too); {@code origin} only names it in messages. */
    public static OpenApiContract parse(Path origin, String yaml) {
        JsonNode node;
        try {
            node = YAMLMapper.builder().build().readTree(yaml);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("the API contract " + origin + " is not valid YAML: "
                    + e.getOriginalMessage(), e);
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("the API contract " + origin + " is not a YAML mapping");
        }
        return new OpenApiContract(origin, node);
    }

    /** The whole spec document as a JSON tree (read-only by convention). */
    public JsonNode document() {
        return spec;
    }

    /** {@code "METHOD /path/{template}"} of every operation, method in upper case, sorted. */
    public Set<String> operations() {
        Set<String> operations = new TreeSet<>();
        for (Route route : routes) {
            for (String method : route.methods()) {
                operations.add(method.toUpperCase(Locale.ROOT) + " " + route.template());
            }
        }
        return operations;
    }

    /**
     * Every local {@code $ref} (at any depth) whose JSON pointer does not lead to a node of the
     * document, and every non-local one (this contract is a single self-contained file).
     * Entries are {@code "<where the $ref is> -> <$ref value>"}.
     */
    public List<String> unresolvedReferences() {
        List<String> unresolved = new ArrayList<>();
        collectUnresolved(spec, "", unresolved);
        return unresolved;
    }

    /** Whether the contract has an operation for this method and path (query ignored). */
    public boolean declares(String method, String pathWithQuery) {
        return match(stripQuery(pathWithQuery))
                .map(route -> route.item().has(method.toLowerCase(Locale.ROOT)))
                .orElse(false);
    }

    /** The operation object for this method and path, if the contract declares one. */
    public Optional<JsonNode> operation(String method, String pathWithQuery) {
        return match(stripQuery(pathWithQuery))
                .map(route -> route.item().get(method.toLowerCase(Locale.ROOT)))
                .filter(op -> op != null && op.isObject());
    }

    /** Violations of a JSON body against a schema under {@code components/schemas}; empty when it conforms. */
    public List<String> violations(String componentSchema, String body) {
        return validate("/components/schemas/" + escape(componentSchema), body);
    }

    /** As {@link #assertResponseConforms(String, String, int, String, String, Map)} without header checks. */
    public void assertResponseConforms(String method, String pathWithQuery, int status, String contentType,
                                       String body) {
        check(method, pathWithQuery, status, contentType, body, null);
    }

    /**
     * Checks a response against the contract, and in addition that every response header the
     * contract marks {@code required} (e.g. {@code Location} on 201/202) is present.
     * Header names are matched case-insensitively.
     */
    public void assertResponseConforms(String method, String pathWithQuery, int status, String contentType,
                                       String body, Map<String, ? extends Collection<String>> headers) {
        check(method, pathWithQuery, status, contentType, body, headers == null ? Map.of() : headers);
    }

    private void check(String method, String pathWithQuery, int status, String contentType, String body,
                       Map<String, ? extends Collection<String>> headers) {
        String path = stripQuery(pathWithQuery);
        String verb = method.toLowerCase(Locale.ROOT);
        String what = method.toUpperCase(Locale.ROOT) + " " + pathWithQuery + " -> " + status
                + (contentType == null ? "" : " " + contentType);

        Route route = match(path).orElse(null);
        if (route == null) {
            throw failure(what, null, List.of("path " + path + " matches no path of the contract ("
                    + routes.stream().map(Route::template).toList() + ")"), body);
        }
        JsonNode operation = route.item().get(verb);
        if (operation == null || !operation.isObject()) {
            throw failure(what, null, List.of("method " + method.toUpperCase(Locale.ROOT) + " is not declared for "
                    + route.template() + " (declared: " + route.methods().stream()
                    .map(m -> m.toUpperCase(Locale.ROOT)).toList() + ")"), body);
        }
        String operationName = method.toUpperCase(Locale.ROOT) + " " + route.template()
                + Optional.ofNullable(operation.get("operationId")).map(id -> " (" + id.asString() + ")").orElse("");
        String operationPointer = "/paths/" + escape(route.template()) + "/" + verb;

        JsonNode responses = operation.get("responses");
        String code = Integer.toString(status);
        String rangeCode = status / 100 + "XX";
        String responseKey = responses == null ? null
                : responses.has(code) ? code
                : responses.has(rangeCode) ? rangeCode
                : responses.has("default") ? "default" : null;
        if (responseKey == null) {
            List<String> declared = new ArrayList<>();
            if (responses != null) {
                responses.propertyNames().forEach(declared::add);
            }
            throw failure(what, operationName, List.of("status " + status + " is not declared (declared: "
                    + declared + ")"), body);
        }
        Resolved response = resolve(responses.get(responseKey), operationPointer + "/responses/" + escape(responseKey));

        List<String> violations = new ArrayList<>();
        if (headers != null) {
            checkHeaders(response, headers, violations);
        }
        JsonNode content = response.node().get("content");
        boolean hasBody = body != null && !body.isEmpty();
        if (content == null || content.isEmpty()) {
            if (hasBody) {
                violations.add("response " + responseKey + " declares no body, but one was sent");
            }
            if (!violations.isEmpty()) {
                throw failure(what, operationName, violations, body);
            }
            return;
        }
        if (contentType == null || contentType.isBlank()) {
            violations.add("no Content-Type, but response " + responseKey + " declares " + names(content));
            throw failure(what, operationName, violations, body);
        }
        String mediaType = mediaType(contentType);
        String mediaKey = mediaKey(content, mediaType);
        if (mediaKey == null) {
            violations.add("content type " + mediaType + " is not declared for response " + responseKey
                    + " (declared: " + names(content) + ")");
            throw failure(what, operationName, violations, body);
        }
        JsonNode media = content.get(mediaKey);
        JsonNode schemaNode = media == null ? null : media.get("schema");
        if (schemaNode != null && isJson(mediaType)) {
            if (!hasBody) {
                violations.add("response " + responseKey + " declares a " + mediaKey + " body, but the body is empty");
            } else {
                String schemaPointer = response.pointer() + "/content/" + escape(mediaKey) + "/schema";
                violations.addAll(validate(schemaPointer, body));
            }
        }
        if (!violations.isEmpty()) {
            throw failure(what, operationName, violations, body);
        }
    }

    private List<String> validate(String schemaPointer, String body) {
        try {
            json.readTree(body);
        } catch (JacksonException e) {
            return List.of("body is not JSON: " + e.getOriginalMessage());
        }
        Schema schema = schemas.computeIfAbsent(schemaPointer,
                p -> registry.getSchema(SchemaLocation.of(SPEC_IRI + "#" + fragment(p))));
        List<Error> errors = schema.validate(body, InputFormat.JSON);
        return errors.stream().map(OpenApiContract::describe).toList();
    }

    private static String describe(Error error) {
        String location = error.getInstanceLocation() == null ? "" : error.getInstanceLocation().toString();
        String text = error.toString();
        // Error.toString() is "<instance location>: <message>"; show the root as "$".
        if (text.startsWith(location + ": ")) {
            text = text.substring(location.length() + 2);
        }
        return (location.isEmpty() ? "$" : "$" + location) + ": " + text
                + " [" + error.getKeyword() + " at " + String.valueOf(error.getSchemaLocation()).replace(SPEC_IRI, "") + "]";
    }

    private void checkHeaders(Resolved response, Map<String, ? extends Collection<String>> headers,
                              List<String> violations) {
        JsonNode declared = response.node().get("headers");
        if (declared == null) {
            return;
        }
        for (String name : declared.propertyNames()) {
            Resolved header = resolve(declared.get(name), response.pointer() + "/headers/" + escape(name));
            JsonNode required = header.node().get("required");
            if (required != null && required.asBoolean()) {
                boolean present = headers.entrySet().stream()
                        .anyMatch(h -> h.getKey() != null && h.getKey().equalsIgnoreCase(name)
                                && h.getValue() != null && !h.getValue().isEmpty());
                if (!present) {
                    violations.add("required response header " + name + " is missing");
                }
            }
        }
    }

    private AssertionError failure(String what, String operation, List<String> violations, String body) {
        StringBuilder message = new StringBuilder("response does not conform to the API contract ")
                .append(source).append('\n')
                .append("  response:  ").append(what).append('\n');
        if (operation != null) {
            message.append("  operation: ").append(operation).append('\n');
        }
        message.append("  violations:\n");
        violations.forEach(v -> message.append("    - ").append(v).append('\n'));
        String shown = body == null ? "<none>" : body.isEmpty() ? "<empty>"
                : body.length() > MAX_BODY_IN_MESSAGE ? body.substring(0, MAX_BODY_IN_MESSAGE) + "…" : body;
        message.append("  body: ").append(shown);
        return new AssertionError(message.toString());
    }

    // ------------------------------------------------------------------ paths

    private record Route(String template, Pattern pattern, int literalChars, int variables, JsonNode item,
                         List<String> methods) {
    }

    private static List<Route> routes(JsonNode spec) {
        JsonNode paths = spec.get("paths");
        List<Route> routes = new ArrayList<>();
        if (paths == null) {
            return routes;
        }
        for (String template : paths.propertyNames()) {
            JsonNode item = paths.get(template);
            List<String> methods = new ArrayList<>();
            for (String method : HTTP_METHODS) {
                if (item.has(method)) {
                    methods.add(method);
                }
            }
            StringBuilder regex = new StringBuilder();
            Matcher m = TEMPLATE_VARIABLE.matcher(template);
            int last = 0;
            int variables = 0;
            int literal = 0;
            while (m.find()) {
                regex.append(Pattern.quote(template.substring(last, m.start()))).append("[^/]+");
                literal += m.start() - last;
                last = m.end();
                variables++;
            }
            regex.append(Pattern.quote(template.substring(last)));
            literal += template.length() - last;
            routes.add(new Route(template, Pattern.compile(regex.toString()), literal, variables, item,
                    List.copyOf(methods)));
        }
        return routes;
    }

    /** Concrete paths win over templated ones (OpenAPI's rule); then the longest literal part. */
    private Optional<Route> match(String path) {
        return routes.stream()
                .filter(r -> r.pattern().matcher(path).matches())
                .min(Comparator.comparingInt(Route::variables)
                        .thenComparing(Comparator.comparingInt(Route::literalChars).reversed()));
    }

    private static String stripQuery(String pathWithQuery) {
        String path = pathWithQuery;
        int fragment = path.indexOf('#');
        if (fragment >= 0) {
            path = path.substring(0, fragment);
        }
        int query = path.indexOf('?');
        if (query >= 0) {
            path = path.substring(0, query);
        }
        if (path.startsWith("http://") || path.startsWith("https://")) {
            int slash = path.indexOf('/', path.indexOf("//") + 2);
            path = slash < 0 ? "/" : path.substring(slash);
        }
        return path;
    }

    // ------------------------------------------------------------------ media types

    private static String mediaType(String contentType) {
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).strip().toLowerCase(Locale.ROOT);
    }

    private static String mediaKey(JsonNode content, String mediaType) {
        String wildcardMatch = null;
        for (String key : content.propertyNames()) {
            String declared = mediaType(key);
            if (declared.equals(mediaType)) {
                return key;
            }
            if (declared.equals("*/*") || (declared.endsWith("/*")
                    && mediaType.startsWith(declared.substring(0, declared.length() - 1)))) {
                wildcardMatch = wildcardMatch == null ? key : wildcardMatch;
            }
        }
        return wildcardMatch;
    }

    private static boolean isJson(String mediaType) {
        return mediaType.equals("application/json") || mediaType.endsWith("+json");
    }

    private static List<String> names(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.propertyNames().forEach(names::add);
        return names;
    }

    // ------------------------------------------------------------------ references

    private record Resolved(JsonNode node, String pointer) {
    }

    /** Follows Reference Objects ({@code $ref} to components) to the object they name. */
    private Resolved resolve(JsonNode node, String pointer) {
        JsonNode current = node;
        String at = pointer;
        for (int hops = 0; current != null && current.has("$ref"); hops++) {
            if (hops > 20) {
                throw new IllegalStateException("reference cycle at " + pointer + " in " + source);
            }
            String ref = current.get("$ref").asString();
            if (!ref.startsWith("#")) {
                throw new IllegalStateException("non-local $ref " + ref + " at " + at + " in " + source);
            }
            at = unescapeFragment(ref.substring(1));
            current = spec.at(at);
            if (current.isMissingNode()) {
                throw new IllegalStateException("$ref " + ref + " at " + pointer + " leads nowhere in " + source);
            }
        }
        return new Resolved(current, at);
    }

    private void collectUnresolved(JsonNode node, String pointer, List<String> unresolved) {
        if (node.isObject()) {
            JsonNode ref = node.get("$ref");
            if (ref != null && ref.isString()) {
                String value = ref.asString();
                if (!value.startsWith("#") || spec.at(unescapeFragment(value.substring(1))).isMissingNode()) {
                    unresolved.add((pointer.isEmpty() ? "/" : pointer) + " -> " + value);
                }
            }
            for (Map.Entry<String, JsonNode> entry : properties(node).entrySet()) {
                collectUnresolved(entry.getValue(), pointer + "/" + escape(entry.getKey()), unresolved);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                collectUnresolved(node.get(i), pointer + "/" + i, unresolved);
            }
        }
    }

    private static Map<String, JsonNode> properties(JsonNode object) {
        Map<String, JsonNode> properties = new LinkedHashMap<>();
        for (String name : object.propertyNames()) {
            properties.put(name, object.get(name));
        }
        return properties;
    }

    /** One JSON-pointer token (RFC 6901): {@code ~} then {@code /}. */
    private static String escape(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }

    /** A JSON pointer as a URI fragment: characters outside RFC 3986's fragment set percent-encoded. */
    private static String fragment(String pointer) {
        StringBuilder out = new StringBuilder();
        for (byte b : pointer.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            boolean safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "-._~!$&'()*+,;=:@/?".indexOf(c) >= 0;
            if (safe) {
                out.append(c);
            } else {
                out.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return out.toString();
    }

    /** Decodes %XX in a URI fragment (no '+' to space: that is form encoding, not URI). */
    private static String unescapeFragment(String fragment) {
        if (fragment.indexOf('%') < 0) {
            return fragment;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int i = 0;
        while (i < fragment.length()) {
            int c = fragment.codePointAt(i);
            if (c == '%' && i + 2 < fragment.length()) {
                bytes.write(Integer.parseInt(fragment.substring(i + 1, i + 3), 16));
                i += 3;
            } else {
                bytes.writeBytes(new String(Character.toChars(c)).getBytes(StandardCharsets.UTF_8));
                i += Character.charCount(c);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
