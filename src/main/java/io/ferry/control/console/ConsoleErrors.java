package io.ferry.control.console;

import io.ferry.control.guest.DiskNotFoundException;
import io.ferry.control.guest.GuestBusyException;
import io.ferry.control.guest.GuestNotFoundException;
import io.ferry.control.guest.PlacementException;
import io.ferry.control.host.HostNotFoundException;
import io.ferry.control.host.WorkerRejectedException;
import io.ferry.control.host.WorkerUnavailableException;
import io.ferry.control.job.IllegalTransitionException;
import io.ferry.control.job.InvalidParametersException;
import io.ferry.control.job.JobConflictException;
import io.ferry.control.job.JobNotFoundException;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.UnsupportedFeatureException;
import io.ferry.control.ownership.OwnershipConflictException;
import io.ferry.control.system.ResourceConflictException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.http.HttpStatus;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.bind.MissingServletRequestParameterException;

/**
 * A refusal in plain words where the operator acted: the same statuses as the API (404, 409,
 * 422, 400, 503) with the service's own sentence, as an alert htmx swaps in next to the button,
 * or as a page when a whole page was asked for.
 */
@ControllerAdvice(basePackageClasses = ConsoleErrors.class)
@Order(Ordered.HIGHEST_PRECEDENCE)
class ConsoleErrors {

    private static final Logger log = LoggerFactory.getLogger(ConsoleErrors.class);

    /** A form value the console cannot use: shown next to its field. */
    static final class FormException extends RuntimeException {
        private final String field;

        FormException(String field, String message) {
            super(message);
            this.field = field;
        }

        String field() {
            return field;
        }
    }

    @ExceptionHandler({GuestNotFoundException.class, JobNotFoundException.class, DiskNotFoundException.class,
            HostNotFoundException.class, io.ferry.control.drain.NoDrainException.class, NotFound.class})
    String notFound(RuntimeException e, HttpServletRequest req, HttpServletResponse res, Model model) {
        return answer(HttpStatus.NOT_FOUND, "Not found", e.getMessage(), req, res, model);
    }

    /** The API's 409 for an edge the job's status table lacks, said as why, with the API's own detail after it. */
    @ExceptionHandler(IllegalTransitionException.class)
    String illegalTransition(IllegalTransitionException e, HttpServletRequest req, HttpServletResponse res,
                             Model model) {
        return answer(HttpStatus.CONFLICT, "Refused", plainWords(e) + " (" + e.getMessage() + ")", req, res, model);
    }

    static String plainWords(IllegalTransitionException e) {
        JobStatus from = e.from();
        JobStatus to = e.to();
        if (from.isTerminal()) {
            return "The job has already ended (" + from.apiName() + "): there is nothing left to change.";
        }
        if (to == JobStatus.CANCELLING && (from == JobStatus.POSTCOPY_ACTIVE || from == JobStatus.POSTCOPY_PAUSED)) {
            return "It can no longer be cancelled: the job is in post-copy, the guest already runs on the "
                    + "destination and the pages it wrote there exist nowhere else, so going back would lose them. "
                    + (from == JobStatus.POSTCOPY_PAUSED ? "Recover the paused post-copy instead."
                    : "Let it complete.");
        }
        if (to == JobStatus.CANCELLING && from == JobStatus.CANCELLING) {
            return "A cancel was already requested: the source stops at its next safe point.";
        }
        if (to == JobStatus.POSTCOPY_ACTIVE) {
            return "Only a job copying in pre-copy (active) switches to post-copy; this one is " + from.apiName() + ".";
        }
        return "A job that is " + from.apiName() + " cannot become " + to.apiName() + ".";
    }

    @ExceptionHandler({GuestBusyException.class, JobConflictException.class,
            OwnershipConflictException.class, ResourceConflictException.class})
    String conflict(RuntimeException e, HttpServletRequest req, HttpServletResponse res, Model model) {
        return answer(HttpStatus.CONFLICT, "Refused", e.getMessage(), req, res, model);
    }

    @ExceptionHandler(OptimisticLockingFailureException.class)
    String concurrent(RuntimeException e, HttpServletRequest req, HttpServletResponse res, Model model) {
        return answer(HttpStatus.CONFLICT, "Refused", "it changed while this was being applied; try again",
                req, res, model);
    }

    @ExceptionHandler({PlacementException.class, UnsupportedFeatureException.class})
    String unprocessable(RuntimeException e, HttpServletRequest req, HttpServletResponse res, Model model) {
        return answer(HttpStatus.UNPROCESSABLE_CONTENT, "Cannot be carried out", e.getMessage(), req, res, model);
    }

    @ExceptionHandler(WorkerRejectedException.class)
    String workerRejected(WorkerRejectedException e, HttpServletRequest req, HttpServletResponse res, Model model) {
        HttpStatus status = e.status() == 404 ? HttpStatus.NOT_FOUND
                : e.status() == 409 ? HttpStatus.CONFLICT : HttpStatus.UNPROCESSABLE_CONTENT;
        return answer(status, "Refused by the worker", e.getMessage(), req, res, model);
    }

    @ExceptionHandler(WorkerUnavailableException.class)
    String workerUnavailable(RuntimeException e, HttpServletRequest req, HttpServletResponse res, Model model) {
        return answer(HttpStatus.SERVICE_UNAVAILABLE, "Worker unavailable", e.getMessage(), req, res, model);
    }

    @ExceptionHandler({InvalidParametersException.class, IllegalArgumentException.class})
    String invalid(RuntimeException e, HttpServletRequest req, HttpServletResponse res, Model model) {
        return answer(HttpStatus.BAD_REQUEST, "Invalid", e.getMessage(), req, res, model);
    }

    @ExceptionHandler(FormException.class)
    String form(FormException e, HttpServletRequest req, HttpServletResponse res, Model model) {
        model.addAttribute("field", e.field());
        return answer(HttpStatus.BAD_REQUEST, "Invalid", e.field() + ": " + e.getMessage(), req, res, model);
    }

    /** A rule of the feature (the same the API applies) refused a value: named by the form's field. */
    @ExceptionHandler(io.ferry.control.system.InvalidFieldException.class)
    String invalidField(io.ferry.control.system.InvalidFieldException e, HttpServletRequest req,
                        HttpServletResponse res, Model model) {
        String field = formField(e.field());
        model.addAttribute("field", field);
        return answer(HttpStatus.BAD_REQUEST, "Invalid", field + ": " + e.reason()
                + (field.equals(e.field()) ? "" : " (" + e.field() + ")"), req, res, model);
    }

    /** The console form's name of an API field: {@code memoryBytes} is typed as memory, a list as one text field. */
    static String formField(String apiField) {
        String f = apiField.startsWith("workload.") ? apiField.substring("workload.".length()) : apiField;
        f = PolicyPages.FieldErrors.formField(f);
        return f.equals("memoryBytes") ? "memory" : f;
    }

    @ExceptionHandler({MethodArgumentTypeMismatchException.class, MissingServletRequestParameterException.class})
    String badParameter(Exception e, HttpServletRequest req, HttpServletResponse res, Model model) {
        String name = e instanceof MethodArgumentTypeMismatchException m ? m.getName()
                : ((MissingServletRequestParameterException) e).getParameterName();
        String what = e instanceof MethodArgumentTypeMismatchException m ? "'" + m.getValue() + "' is not a valid value"
                : "is required";
        return answer(HttpStatus.BAD_REQUEST, "Invalid", name + ": " + what, req, res, model);
    }

    private static String answer(HttpStatus status, String title, String message, HttpServletRequest req,
                                 HttpServletResponse res, Model model) {
        if (status.is5xxServerError()) {
            log.warn("console: {} {}: {}", req.getMethod(), req.getRequestURI(), message);
        }
        res.setStatus(status.value());
        model.addAttribute("status", status.value());
        model.addAttribute("title", title);
        model.addAttribute("message", message);
        return req.getHeader("HX-Request") != null ? "console/error :: alert" : "console/error";
    }

    /** A console page for something that does not exist (a policy name, a disk). */
    static final class NotFound extends RuntimeException {
        NotFound(String message) {
            super(message);
        }
    }
}
