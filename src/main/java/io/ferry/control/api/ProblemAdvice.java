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
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.validation.method.ParameterValidationResult;
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
    ProblemDetail notFound(RuntimeException e) {
        return problem(HttpStatus.NOT_FOUND, "Not found", e.getMessage());
    }

    @ExceptionHandler(IllegalTransitionException.class)
    ProblemDetail illegalTransition(IllegalTransitionException e) {
        ProblemDetail p = problem(HttpStatus.CONFLICT, "Illegal job transition", e.getMessage());
        p.setProperty("currentStatus", e.from().apiName());
        p.setProperty("requestedStatus", e.to().apiName());
        return p;
    }

    @ExceptionHandler({GuestBusyException.class, JobConflictException.class, OwnershipConflictException.class,
            ResourceConflictException.class})
    ProblemDetail conflict(RuntimeException e) {
        return problem(HttpStatus.CONFLICT, "Conflict", e.getMessage());
    }

    @ExceptionHandler(OptimisticLockingFailureException.class)
    ProblemDetail concurrentUpdate(OptimisticLockingFailureException e) {
        return problem(HttpStatus.CONFLICT, "Concurrent update",
                "the resource changed while this request was being applied; read it again and retry");
    }

    @ExceptionHandler(UnsupportedFeatureException.class)
    ProblemDetail unsupported(UnsupportedFeatureException e) {
        ProblemDetail p = problem(HttpStatus.UNPROCESSABLE_CONTENT, "Unsupported migration feature", e.getMessage());
        p.setProperty("unsupported", e.unsupported());
        return p;
    }

    @ExceptionHandler({PlacementException.class, IdempotencyKeyReusedException.class})
    ProblemDetail unprocessable(RuntimeException e) {
        return problem(HttpStatus.UNPROCESSABLE_CONTENT, "Request cannot be carried out", e.getMessage());
    }

    @ExceptionHandler(WorkerRejectedException.class)
    ProblemDetail workerRejected(WorkerRejectedException e) {
        HttpStatus status = switch (e.status()) {
            case 404 -> HttpStatus.NOT_FOUND;
            case 409 -> HttpStatus.CONFLICT;
            default -> HttpStatus.UNPROCESSABLE_CONTENT;
        };
        return problem(status, "Refused by worker", e.getMessage());
    }

    @ExceptionHandler(WorkerUnavailableException.class)
    ProblemDetail workerUnavailable(WorkerUnavailableException e) {
        log.warn("{}", e.getMessage());
        return problem(HttpStatus.SERVICE_UNAVAILABLE, "Worker unavailable", e.getMessage());
    }

    @ExceptionHandler(io.ferry.control.job.InvalidParametersException.class)
    ProblemDetail invalidParameters(io.ferry.control.job.InvalidParametersException e) {
        return problem(HttpStatus.BAD_REQUEST, "Invalid request", e.getMessage());
    }

    @ExceptionHandler(InvalidRequestException.class)
    ProblemDetail invalid(InvalidRequestException e) {
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Invalid request", e.getMessage());
        p.setProperty("errors", List.of(new FieldError(e.field(), e.reason())));
        return p;
    }

    @ExceptionHandler(MethodArgumentTypeMismatchException.class)
    ProblemDetail typeMismatch(MethodArgumentTypeMismatchException e) {
        String message = "'" + e.getValue() + "' is not a valid " + (e.getRequiredType() == null ? "value"
                : e.getRequiredType().getSimpleName());
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Invalid request", e.getName() + ": " + message);
        p.setProperty("errors", List.of(new FieldError(e.getName(), message)));
        return p;
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

    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException e,
                                                                  HttpHeaders headers, HttpStatusCode status,
                                                                  WebRequest request) {
        String cause = e.getMostSpecificCause().getMessage();
        String firstLine = cause == null ? "unreadable body" : cause.lines().findFirst().orElse(cause);
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Malformed request body",
                "the request body is not valid JSON for this operation: " + firstLine);
        return ResponseEntity.badRequest().body(p);
    }

    private static ResponseEntity<Object> badRequest(List<FieldError> errors) {
        errors.sort(Comparator.comparing(FieldError::field));
        String detail = "invalid request: " + String.join("; ", errors.stream()
                .map(f -> f.field() + " " + f.message()).toList());
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Invalid request", detail);
        p.setProperty("errors", errors);
        return ResponseEntity.badRequest().body(p);
    }

    private static ProblemDetail problem(HttpStatus status, String title, String detail) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        p.setTitle(title);
        return p;
    }

}
