package io.ferry.it;

import io.ferry.contract.OpenApiContract;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A plain HTTP client for the public API, as an outside client sees it. Every response to an
 * /api/v1 request is checked against openapi.yaml, so any test that talks to the API is also
 * a contract test.
 */
public final class ApiClient {

    private static final OpenApiContract CONTRACT = OpenApiContract.load();

    private final String base;
    private final String token;
    private final HttpClient http;
    private final JsonMapper json = JsonMapper.builder().build();

    public ApiClient(String base, String token) {
        this(base, token, null);
    }

    /** Over HTTPS with {@code tls} (its trust decides which server certificates are accepted). */
    public ApiClient(String base, String token, javax.net.ssl.SSLContext tls) {
        this.base = base;
        this.token = token;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
        if (tls != null) {
            builder.sslContext(tls);
        }
        this.http = builder.build();
    }

    public record Reply(int status, Map<String, java.util.List<String>> headers, String body, JsonNode json) {

        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().get(0)).findFirst().orElse(null);
        }

        public String contentType() {
            return header("Content-Type");
        }
    }

    public Reply get(String path) {
        return send("GET", path, null, Map.of());
    }

    public Reply delete(String path) {
        return send("DELETE", path, null, Map.of());
    }

    public Reply post(String path, Object body) {
        return send("POST", path, body, Map.of());
    }

    public Reply post(String path, Object body, Map<String, String> headers) {
        return send("POST", path, body, headers);
    }

    public Reply put(String path, Object body) {
        return send("PUT", path, body, Map.of());
    }

    public Reply patch(String path, Object body) {
        return send("PATCH", path, body, Map.of());
    }

    /** Sends a raw body (e.g. malformed JSON) as application/json. */
    public Reply postRaw(String path, String rawBody) {
        return send("POST", path, new Raw(rawBody), Map.of());
    }

    /**
     * Any method, any Content-Type (null: none) and raw body (null: none), extra headers; the
     * answer is checked against the contract like every other (a method the contract does not
     * declare for the path is not, as there is no operation to check it against).
     */
    public Reply exchange(String method, String path, String contentType, String rawBody, Map<String, String> headers) {
        return send(method, path, new Raw(rawBody == null ? "" : rawBody, contentType, rawBody == null, true), headers);
    }

    public ApiClient withToken(String otherToken) {
        return new ApiClient(base, otherToken);
    }

    private record Raw(String text, String contentType, boolean noBody, boolean anyMethod) {
        Raw(String text) {
            this(text, "application/json", false, false);
        }
    }

    private Reply send(String method, String path, Object body, Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        headers.forEach(request::header);
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else if (body instanceof Raw raw && (raw.noBody() || raw.contentType() == null)) {
            if (raw.contentType() != null) {
                request.header("Content-Type", raw.contentType());
            }
            request.method(method, raw.noBody() ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(raw.text()));
        } else {
            String text = body instanceof Raw raw ? raw.text() : json.writeValueAsString(body);
            String type = body instanceof Raw raw ? raw.contentType() : "application/json";
            request.header("Content-Type", type).method(method, HttpRequest.BodyPublishers.ofString(text));
        }
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            String text = response.body();
            String type = response.headers().firstValue("Content-Type").orElse("");
            JsonNode node = text == null || text.isBlank() || !type.contains("json") ? null : json.readTree(text);
            Reply reply = new Reply(response.statusCode(), response.headers().map(), text, node);
            boolean anyMethod = body instanceof Raw raw && raw.anyMethod();
            if (path.startsWith("/api/") && (!anyMethod || CONTRACT.declares(method, path))) {
                CONTRACT.assertResponseConforms(method, path, reply.status(), reply.contentType(), text);
            }
            return reply;
        } catch (IOException e) {
            throw new IllegalStateException(method + " " + path + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
