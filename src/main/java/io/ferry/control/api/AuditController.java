package io.ferry.control.api;

import io.ferry.control.system.AuditLog;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** The audit log of state-changing requests, newest first, filtered, one page at a time (admin). */
@RestController
@RequestMapping("/api/v1/audit")
class AuditController {

    private final AuditLog audit;

    AuditController(AuditLog audit) {
        this.audit = audit;
    }

    record AuditEntryView(long id, Instant at, String actor, String credential, String role, String method,
                          String path, String target, String remoteAddress, int status, String outcome) {

        static AuditEntryView of(AuditLog.Entry e) {
            return new AuditEntryView(e.id(), e.at(), e.actor(), e.credential(), e.role(), e.method(), e.path(),
                    e.target(), e.remoteAddress(), e.status(), e.outcome().apiName());
        }
    }

    record AuditPage(List<AuditEntryView> items, int size, String next) {
    }

    @GetMapping
    AuditPage list(@RequestParam(required = false) String actor,
                   @RequestParam(required = false) String target,
                   @RequestParam(required = false) String from,
                   @RequestParam(required = false) String to,
                   @RequestParam(required = false) @Min(100) @Max(599) Integer status,
                   @RequestParam(required = false) String outcome,
                   @RequestParam(required = false) String after,
                   @RequestParam(defaultValue = "50") @Min(1) @Max(200) int size) {
        if (after != null) {
            try {
                AuditLog.decode(after);
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("after", e.getMessage() + ": pass the next of an earlier page");
            }
        }
        AuditLog.Outcome o = null;
        if (outcome != null) {
            try {
                o = AuditLog.Outcome.fromApiName(outcome);
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("outcome", e.getMessage());
            }
        }
        String t = target == null ? null : target.startsWith("/api/v1/") ? target.substring(8) : target;
        AuditLog.Page page = audit.page(new AuditLog.Query(actor, t, time("from", from), time("to", to), status, o),
                after, size);
        return new AuditPage(page.items().stream().map(AuditEntryView::of).toList(), size, page.next());
    }

    private static Instant time(String field, String text) {
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new InvalidRequestException(field, "must be an RFC 3339 date-time in UTC (2026-01-02T03:04:05Z)");
        }
    }
}
