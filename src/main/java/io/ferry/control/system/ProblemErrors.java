package io.ferry.control.system;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.Writer;
import java.net.URI;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.catalina.Container;
import org.apache.catalina.Host;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.Valve;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;
import org.apache.coyote.ActionCode;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Errors the controllers never see, as problem+json like every other error: what Spring MVC
 * or the security layer leave to the servlet container's error page (an unknown path, a wrong
 * method, an uncaught exception → 500), and what Tomcat refuses before any servlet runs (a bad
 * percent-escape, an encoded NUL, an over-long URI, a request line that is not HTTP). Details
 * are fixed texts per status: an exception's message may name Java classes.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class ProblemErrors {

    /** Replaces Boot's BasicErrorController (its JSON is not problem+json, and a direct GET /error was a 500). */
    @RestController
    static class ProblemErrorController implements ErrorController {

        @RequestMapping("${server.error.path:${error.path:/error}}")
        ResponseEntity<ProblemDetail> error(HttpServletRequest request) {
            Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
            if (request.getDispatcherType() != DispatcherType.ERROR || !(code instanceof Integer)) {
                // asked for directly: there is nothing here
                return respond(HttpStatus.NOT_FOUND, null);
            }
            HttpStatus status = HttpStatus.resolve((Integer) code);
            if (status == null || !status.isError()) {
                status = HttpStatus.INTERNAL_SERVER_ERROR;
            }
            Object uri = request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI);
            return respond(status, uri instanceof String s ? s : null);
        }

        private static ResponseEntity<ProblemDetail> respond(HttpStatus status, String path) {
            ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail(status.value()));
            p.setTitle(title(status.value()));
            if (path != null) {
                try {
                    p.setInstance(new URI(path));
                } catch (java.net.URISyntaxException notAUri) {
                    p.setInstance(URI.create("about:blank"));
                }
            }
            return ResponseEntity.status(status).contentType(MediaType.APPLICATION_PROBLEM_JSON).body(p);
        }
    }

    static String title(int status) {
        HttpStatus known = HttpStatus.resolve(status);
        return switch (status) {
            case 400 -> "Bad request";
            case 404 -> "Not found";
            case 405 -> "Method not allowed";
            case 406 -> "Not acceptable";
            case 415 -> "Unsupported media type";
            case 500 -> "Internal error";
            default -> known == null ? "Error" : known.getReasonPhrase();
        };
    }

    static String detail(int status) {
        return switch (status) {
            case 400 -> "the request is not valid HTTP, or its URI is malformed (a bad percent-escape, an encoded "
                    + "NUL or slash, a character a URI may not hold)";
            case 401 -> "send 'Authorization: Bearer <token>'";
            case 403 -> "this token may not use this resource";
            case 404 -> "there is no resource at this path";
            case 405 -> "this resource does not answer this method (see the Allow header)";
            case 406 -> "the Accept header admits none of the media types this resource answers with";
            case 408 -> "the request was not received in time";
            case 411 -> "a request body needs a Content-Length";
            case 413 -> "the request body is too large";
            case 414 -> "the request URI is too long";
            case 415 -> "send the body as application/json (UTF-8)";
            case 431 -> "the request's headers are too large";
            case 500 -> "the server failed to handle the request; its log has the cause";
            case 501 -> "this method is not implemented";
            case 503 -> "the service is unavailable; retry later";
            default -> "the request could not be handled";
        };
    }

    /** Tomcat's last word on a refused request, as problem+json instead of an HTML page. */
    @Bean
    WebServerFactoryCustomizer<TomcatServletWebServerFactory> problemReportValve() {
        return factory -> factory.addContextCustomizers(context -> {
            Container parent = context.getParent();
            if (parent instanceof Host host) {
                // installed when the host starts, after every customiser (Boot's own adds an HTML ErrorReportValve)
                host.addLifecycleListener(event -> {
                    if (Lifecycle.BEFORE_START_EVENT.equals(event.getType())) {
                        install(host);
                    }
                });
            }
        });
    }

    static void install(Host host) {
        for (Valve valve : host.getPipeline().getValves()) {
            if (valve instanceof ErrorReportValve && !(valve instanceof ProblemReportValve)) {
                host.getPipeline().removeValve(valve);
            }
        }
        host.getPipeline().addValve(new ProblemReportValve());
        if (host instanceof org.apache.catalina.core.StandardHost standard) {
            standard.setErrorReportValveClass(ProblemReportValve.class.getName());
        }
    }

    /** Tomcat's error report as a problem detail: status, a fixed title and detail, nothing of the server. */
    public static class ProblemReportValve extends ErrorReportValve {

        @Override
        protected void report(Request request, Response response, Throwable throwable) {
            int status = response.getStatus();
            if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
                return;
            }
            AtomicBoolean ioAllowed = new AtomicBoolean(true);
            response.getCoyoteResponse().action(ActionCode.IS_IO_ALLOWED, ioAllowed);
            if (!ioAllowed.get()) {
                return;
            }
            String body = "{\"type\":\"about:blank\",\"title\":\"" + title(status) + "\",\"status\":" + status
                    + ",\"detail\":\"" + detail(status) + "\"}";
            try {
                response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
                response.setCharacterEncoding("UTF-8");
                Writer writer = response.getReporter();
                if (writer != null) {
                    writer.write(body);
                    response.finishResponse();
                }
            } catch (IOException | IllegalStateException gone) {
                // the client is gone, or the response was already taken: nothing more to say
            }
        }
    }
}
