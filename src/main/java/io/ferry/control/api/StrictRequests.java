package io.ferry.control.api;

import io.ferry.control.system.StrictJson;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.MethodParameter;
import java.beans.PropertyEditorSupport;
import java.util.function.Function;
import org.springframework.web.bind.WebDataBinder;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.InitBinder;
import org.springframework.http.HttpHeaders;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.HandlerMapping;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * What the API accepts before a controller runs, so a refused request never changes anything:
 * path and query values in one spelling only (canonical UUIDs, decimal integers within range),
 * bodies as {@code application/json} (charset, if named, UTF-8) and answers the client accepts
 * ({@code Accept} must admit {@code application/json}; checked before the operation runs, not
 * after it has already created a guest).
 */
@Configuration(proxyBeanMethods = false)
class StrictRequests implements WebMvcConfigurer {

    private static final Pattern DECIMAL = Pattern.compile("-?[0-9]{1,19}");
    private static final Set<MediaType> JSON_ONLY = Set.of(MediaType.APPLICATION_JSON);

    /**
     * Path, query and header values of the API's controllers. Editors, not converters: a
     * failed conversion falls back to Spring's default editors, which read {@code 0x10} as 16
     * and {@code 1-2-3-4-5} as a UUID; a custom editor is the last word.
     */
    @ControllerAdvice(basePackages = "io.ferry.control.api")
    static class Binding {

        @InitBinder
        void strictValues(WebDataBinder binder) {
            binder.registerCustomEditor(UUID.class, new Strict(StrictJson::uuid));
            for (Class<?> type : List.of(Integer.class, int.class)) {
                binder.registerCustomEditor(type, new Strict(s -> (int) decimal(s, Integer.MIN_VALUE, Integer.MAX_VALUE)));
            }
            for (Class<?> type : List.of(Long.class, long.class)) {
                binder.registerCustomEditor(type, new Strict(s -> decimal(s, Long.MIN_VALUE, Long.MAX_VALUE)));
            }
        }
    }

    /** Text to value by one rule; the rule's IllegalArgumentException says what the value must be. */
    static final class Strict extends PropertyEditorSupport {

        private final Function<String, Object> parse;

        Strict(Function<String, Object> parse) {
            this.parse = parse;
        }

        @Override
        public void setAsText(String text) {
            setValue(text == null ? null : parse.apply(text));
        }
    }

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(new MediaTypes()).addPathPatterns("/api/**");
    }

    /** A decimal integer (no {@code 0x10}, {@code +5}, {@code 1e3} or blanks) between the bounds. */
    static long decimal(String text, long min, long max) {
        String rule = "must be a decimal integer from " + min + " to " + max;
        if (text == null || !DECIMAL.matcher(text).matches()) {
            throw new IllegalArgumentException(rule);
        }
        long value;
        try {
            value = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(rule);
        }
        if (value < min || value > max) {
            throw new IllegalArgumentException(rule);
        }
        return value;
    }

    /** Content-Type of a body and Accept, checked against the operation before it runs. */
    static final class MediaTypes implements HandlerInterceptor {

        @Override
        public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler)
                throws Exception {
            if (!(handler instanceof HandlerMethod method)) {
                return true;
            }
            if (takesBody(method)) {
                checkContentType(request);
            }
            if (!producesOwnTypes(request)) {
                checkAccept(request);
                // the answer is JSON whatever else Accept names (e.g. application/yaml first)
                request.setAttribute(HandlerMapping.PRODUCIBLE_MEDIA_TYPES_ATTRIBUTE, JSON_ONLY);
            }
            return true;
        }

        private static boolean takesBody(HandlerMethod method) {
            for (MethodParameter parameter : method.getMethodParameters()) {
                if (parameter.hasParameterAnnotation(RequestBody.class)) {
                    return true;
                }
            }
            return false;
        }

        /** A mapping with {@code produces} (the event stream) was matched against Accept by Spring already. */
        private static boolean producesOwnTypes(HttpServletRequest request) {
            Object producible = request.getAttribute(HandlerMapping.PRODUCIBLE_MEDIA_TYPES_ATTRIBUTE);
            return producible instanceof Set<?> set && !set.isEmpty();
        }

        private static void checkContentType(HttpServletRequest request) throws HttpMediaTypeNotSupportedException {
            String header = request.getHeader(HttpHeaders.CONTENT_TYPE);
            boolean hasBody = request.getContentLengthLong() > 0 || request.getHeader("Transfer-Encoding") != null;
            if (header == null) {
                if (hasBody) {
                    throw new HttpMediaTypeNotSupportedException("a request body must be sent as application/json");
                }
                return;
            }
            MediaType type;
            try {
                type = MediaType.parseMediaType(header);
            } catch (InvalidMediaTypeException e) {
                throw unsupported("Content-Type '" + header + "' is not a media type");
            }
            if (!type.getType().equalsIgnoreCase("application") || !type.getSubtype().equalsIgnoreCase("json")) {
                throw unsupported("Content-Type '" + header + "' is not supported");
            }
            for (String name : type.getParameters().keySet()) {
                if (!name.equalsIgnoreCase("charset")) {
                    throw unsupported("Content-Type parameter '" + name + "' is not supported");
                }
            }
            String charset = type.getParameter("charset");
            if (charset != null && !unquote(charset).toUpperCase(Locale.ROOT).equals("UTF-8")) {
                throw unsupported("charset '" + unquote(charset) + "' is not supported");
            }
        }

        private static HttpMediaTypeNotSupportedException unsupported(String what) {
            return new HttpMediaTypeNotSupportedException(what + ": send the body as application/json (UTF-8)",
                    List.of(MediaType.APPLICATION_JSON));
        }

        private static String unquote(String value) {
            return value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")
                    ? value.substring(1, value.length() - 1) : value;
        }

        private static void checkAccept(HttpServletRequest request) throws HttpMediaTypeNotAcceptableException {
            List<String> headers = java.util.Collections.list(request.getHeaders(HttpHeaders.ACCEPT));
            if (headers.isEmpty()) {
                return;
            }
            List<MediaType> accepted;
            try {
                accepted = MediaType.parseMediaTypes(headers);
            } catch (InvalidMediaTypeException e) {
                throw new HttpMediaTypeNotAcceptableException("the Accept header is not a list of media types");
            }
            for (MediaType type : accepted) {
                if (type.getQualityValue() > 0 && type.isCompatibleWith(MediaType.APPLICATION_JSON)) {
                    return;
                }
            }
            throw new HttpMediaTypeNotAcceptableException(List.of(MediaType.APPLICATION_JSON));
        }
    }
}
