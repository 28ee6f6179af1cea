package io.ferry.control.api;

import io.ferry.control.guest.DiskNotFoundException;
import io.ferry.control.guest.GuestBusyException;
import io.ferry.control.guest.GuestNotFoundException;
import io.ferry.control.guest.PlacementException;
import io.ferry.control.host.WorkerRejectedException;
import io.ferry.control.system.ResourceConflictException;
import io.ferry.control.host.WorkerUnavailableException;
import io.ferry.control.idempotency.IdempotencyKeyReusedException;
import io.ferry.control.job.IllegalTransitionException;
import io.ferry.control.job.JobConflictException;
import io.ferry.control.job.JobNotFoundException;
import io.ferry.control.job.UnsupportedFeatureException;
import io.ferry.control.ownership.OwnershipConflictException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.validation.method.ParameterValidationResult;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * The one place where errors become RFC 9457 problem details: not found → 404, illegal
 * transition or busy resource → 409, validation → 400 (with the offending fields),
 * well-formed but impossible → 422, worker out of reach → 503.
 */
@RestControllerAdvice(basePackages = "io.ferry.control.api")
class ProblemAdvice extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ProblemAdvice.class);

    record FieldError(String field, String message) {
    }

    @ExceptionHandler({GuestNotFoundException.class, JobNotFoundException.class, DiskNotFoundException.class,
            ResourceNotFoundException.class, io.ferry.control.host.HostNotFoundException.class,
            io.ferry.control.drain.NoDrainException.class})
    ResponseEntity<Object> notFound(RuntimeException e) {
        return respond(problem(HttpStatus.NOT_FOUND, "Not found", e.getMessage()));
    }

    @ExceptionHandler(IllegalTransitionException.class)
    ResponseEntity<Object> illegalTransition(IllegalTransitionException e) {
        ProblemDetail p = problem(HttpStatus.CONFLICT, "Illegal job transition", e.getMessage());
        p.setProperty("currentStatus", e.from().apiName());
        p.setProperty("requestedStatus", e.to().apiName());
        return respond(p);
    }

    @ExceptionHandler({GuestBusyException.class, JobConflictException.class, OwnershipConflictException.class,
            ResourceConflictException.class})
    ResponseEntity<Object> conflict(RuntimeException e) {
        return respond(problem(HttpStatus.CONFLICT, "Conflict", e.getMessage()));
    }

    @ExceptionHandler(OptimisticLockingFailureException.class)
    ResponseEntity<Object> concurrentUpdate(OptimisticLockingFailureException e) {
        return respond(problem(HttpStatus.CONFLICT, "Concurrent update",
                "the resource changed while this request was being applied; read it again and retry"));
    }

    @ExceptionHandler(UnsupportedFeatureException.class)
    ResponseEntity<Object> unsupported(UnsupportedFeatureException e) {
        ProblemDetail p = problem(HttpStatus.UNPROCESSABLE_CONTENT, "Unsupported migration feature", e.getMessage());
        p.setProperty("unsupported", e.unsupported());
        return respond(p);
    }

    @ExceptionHandler({PlacementException.class, IdempotencyKeyReusedException.class,
            io.ferry.control.guest.SaveRefusedException.class})
    ResponseEntity<Object> unprocessable(RuntimeException e) {
        return respond(problem(HttpStatus.UNPROCESSABLE_CONTENT, "Request cannot be carried out", e.getMessage()));
    }

    @ExceptionHandler(WorkerRejectedException.class)
    ResponseEntity<Object> workerRejected(WorkerRejectedException e) {
        HttpStatus status = switch (e.status()) {
            case 404 -> HttpStatus.NOT_FOUND;
            case 409 -> HttpStatus.CONFLICT;
            default -> HttpStatus.UNPROCESSABLE_CONTENT;
        };
        return respond(problem(status, "Refused by worker", e.getMessage()));
    }

    @ExceptionHandler(WorkerUnavailableException.class)
    ResponseEntity<Object> workerUnavailable(WorkerUnavailableException e) {
        log.warn("{}", e.getMessage());
        return respond(problem(HttpStatus.SERVICE_UNAVAILABLE, "Worker unavailable", e.getMessage()));
    }

    @ExceptionHandler(io.ferry.control.job.InvalidParametersException.class)
    ResponseEntity<Object> invalidParameters(io.ferry.control.job.InvalidParametersException e) {
        return respond(problem(HttpStatus.BAD_REQUEST, "Invalid request", e.getMessage()));
    }

    @ExceptionHandler(InvalidRequestException.class)
    ResponseEntity<Object> invalid(InvalidRequestException e) {
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Invalid request", e.getMessage());
        p.setProperty("errors", List.of(new FieldError(e.field(), e.reason())));
        return respond(p);
    }

    @ExceptionHandler(io.ferry.control.system.InvalidFieldException.class)
    ResponseEntity<Object> invalidField(io.ferry.control.system.InvalidFieldException e) {
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Invalid request", e.getMessage());
        p.setProperty("errors", List.of(new FieldError(e.field(), e.reason())));
        return respond(p);
    }

    @ExceptionHandler(MethodArgumentTypeMismatchException.class)
    ResponseEntity<Object> typeMismatch(MethodArgumentTypeMismatchException e) {
        // the strict converters (StrictRequests) say what the value must be; never name a Java type
        Throwable cause = e.getMostSpecificCause();
        String rule = cause instanceof IllegalArgumentException && cause.getMessage() != null
                && cause.getMessage().startsWith("must ") ? cause.getMessage() : "is not a valid value";
        String message = "'" + e.getValue() + "' " + rule;
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Invalid request", e.getName() + ": " + message);
        p.setProperty("errors", List.of(new FieldError(e.getName(), message)));
        return respond(p);
    }

    @Override
    protected ResponseEntity<Object> handleMethodArgumentNotValid(MethodArgumentNotValidException e,
                                                                  HttpHeaders headers, HttpStatusCode status,
                                                                  WebRequest request) {
        List<FieldError> errors = new ArrayList<>(e.getBindingResult().getFieldErrors().stream()
                .map(f -> new FieldError(f.getField(), f.getDefaultMessage())).toList());
        e.getBindingResult().getGlobalErrors()
                .forEach(g -> errors.add(new FieldError(g.getObjectName(), g.getDefaultMessage())));
        return badRequest(errors);
    }

    @Override
    protected ResponseEntity<Object> handleHandlerMethodValidationException(HandlerMethodValidationException e,
                                                                            HttpHeaders headers,
                                                                            HttpStatusCode status,
                                                                            WebRequest request) {
        List<FieldError> errors = new ArrayList<>();
        for (ParameterValidationResult result : e.getParameterValidationResults()) {
            String name = result.getMethodParameter().getParameterName();
            result.getResolvableErrors().forEach(err -> errors.add(new FieldError(name, err.getDefaultMessage())));
        }
        return badRequest(errors);
    }

    /**
     * A body that is not JSON, or not JSON of this operation's shape: a wrong type, an unknown
     * or repeated property, a number out of range. Said in the API's words (the property path
     * and what it must be), never with Jackson's Java type names.
     */
    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException e,
                                                                  HttpHeaders headers, HttpStatusCode status,
                                                                  WebRequest request) {
        JsonProblems.Described d = JsonProblems.describe(e);
        if (d.field() == null) {
            return respond(problem(HttpStatus.BAD_REQUEST, "Malformed request body", d.message()));
        }
        return badRequest(new ArrayList<>(List.of(new FieldError(d.field(), d.message()))));
    }

    @Override
    protected ResponseEntity<Object> handleHttpMediaTypeNotSupported(HttpMediaTypeNotSupportedException e,
                                                                     HttpHeaders headers, HttpStatusCode status,
                                                                     WebRequest request) {
        String what = e.getContentType() == null ? e.getMessage()
                : "Content-Type '" + e.getContentType() + "' is not supported: send the body as application/json (UTF-8)";
        return respond(problem(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type", what));
    }

    @Override
    protected ResponseEntity<Object> handleHttpMediaTypeNotAcceptable(HttpMediaTypeNotAcceptableException e,
                                                                      HttpHeaders headers, HttpStatusCode status,
                                                                      WebRequest request) {
        return respond(problem(HttpStatus.NOT_ACCEPTABLE, "Not acceptable",
                "this operation answers with application/json (errors application/problem+json); "
                        + "the Accept header admits neither"));
    }

    /**
     * Every other answer of the base class (405, missing parameter, …) as problem+json
     * whatever the client's Accept says, with no Java names in its detail.
     */
    @Override
    protected ResponseEntity<Object> createResponseEntity(Object body, HttpHeaders headers, HttpStatusCode statusCode,
                                                          WebRequest request) {
        if (body instanceof ProblemDetail p) {
            p.setDetail(scrub(p.getDetail()));
        }
        HttpHeaders h = new HttpHeaders();
        h.putAll(headers);
        h.setContentType(MediaType.APPLICATION_PROBLEM_JSON);
        return new ResponseEntity<>(body, h, statusCode);
    }

    private static ResponseEntity<Object> badRequest(List<FieldError> errors) {
        errors.sort(Comparator.comparing(FieldError::field));
        String detail = "invalid request: " + String.join("; ", errors.stream()
                .map(f -> f.field() + " " + f.message()).toList());
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Invalid request", detail);
        p.setProperty("errors", errors);
        return respond(p);
    }

    /** problem+json whatever Accept says (a 406 must carry a body too). */
    private static ResponseEntity<Object> respond(ProblemDetail p) {
        return ResponseEntity.status(p.getStatus()).contentType(MediaType.APPLICATION_PROBLEM_JSON).body(p);
    }

    private static ProblemDetail problem(HttpStatus status, String title, String detail) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, scrub(detail));
        p.setTitle(title);
        return p;
    }

    /** Fully qualified Java names (java.lang.Long, io.ferry.…) do not belong in an answer. */
    static String scrub(String detail) {
        return detail == null ? null : JAVA_NAME.matcher(detail).replaceAll("value");
    }

    private static final java.util.regex.Pattern JAVA_NAME =
            java.util.regex.Pattern.compile("`?\\b(?:[a-z_][a-z0-9_]*\\.){2,}[A-Z][A-Za-z0-9_$]*`?");
}
