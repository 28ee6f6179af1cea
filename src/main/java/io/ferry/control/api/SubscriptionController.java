package io.ferry.control.api;

import io.ferry.control.events.EventFilter;
import io.ferry.control.events.EventType;
import io.ferry.control.webhooks.WebhookSubscription;
import io.ferry.control.webhooks.WebhookSubscriptions;
import io.ferry.control.webhooks.WebhookTarget;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;
import java.net.URI;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Webhook subscriptions: Ferry POSTs each event matching the filter to the URL, signed with the
 * secret (see {@link io.ferry.control.webhooks.WebhookSigner}). The secret is write-only.
 */
@RestController
@RequestMapping("/api/v1/subscriptions")
class SubscriptionController {

    private final WebhookSubscriptions subscriptions;

    SubscriptionController(WebhookSubscriptions subscriptions) {
        this.subscriptions = subscriptions;
    }

    /** The filter of GET /api/v1/events as a body: types (none: all), and subject ids. */
    record FilterBody(@Size(max = 5) List<String> types, UUID jobId, UUID guestId, @Size(max = 63) String hostId) {
    }

    record SubscriptionBody(@NotBlank @Size(max = WebhookTarget.MAX_LENGTH) String url,
                            @NotNull @Size(min = 16, max = 256) String secret,
                            @Valid FilterBody filter,
                            @Size(max = 1024) String description) {
    }

    record FilterView(List<String> types, UUID jobId, UUID guestId, String hostId) {

        static FilterView of(EventFilter f) {
            return new FilterView(f.types().stream().sorted().map(EventType::apiName).toList(), f.jobId(),
                    f.guestId(), f.hostId());
        }
    }

    record DeliveryView(Instant lastSuccessAt, int consecutiveFailures, String lastError, Instant lastErrorAt,
                        long backlog) {

        static DeliveryView of(WebhookSubscription.DeliveryState d) {
            return new DeliveryView(d.lastSuccessAt(), d.consecutiveFailures(), d.lastError(), d.lastErrorAt(),
                    d.backlog());
        }
    }

    record SubscriptionView(UUID id, String url, String description, FilterView filter, Instant createdAt,
                            DeliveryView delivery) {

        static SubscriptionView of(WebhookSubscription s) {
            return new SubscriptionView(s.id(), s.url().toString(), s.description(), FilterView.of(s.filter()),
                    s.createdAt(), DeliveryView.of(s.delivery()));
        }
    }

    @GetMapping
    List<SubscriptionView> list() {
        return subscriptions.list().stream().map(SubscriptionView::of).toList();
    }

    @GetMapping("/{subscriptionId}")
    SubscriptionView get(@PathVariable UUID subscriptionId) {
        return subscriptions.find(subscriptionId).map(SubscriptionView::of).orElseThrow(() -> notFound(subscriptionId));
    }

    @PostMapping
    ResponseEntity<SubscriptionView> create(@Valid @RequestBody SubscriptionBody body) {
        try {
            WebhookTarget.parse(body.url());
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("url", e.getMessage());
        }
        if (body.secret().isBlank()) {
            throw new InvalidRequestException("secret", "must not be blank");
        }
        FilterBody f = body.filter();
        EventFilter filter = f == null ? EventFilter.ALL
                : new EventFilter(types(f.types()), f.jobId(), f.guestId(), blankToNull(f.hostId()));
        WebhookSubscription created = subscriptions.create(body.url(), body.secret(), filter, body.description());
        return ResponseEntity.created(URI.create("/api/v1/subscriptions/" + created.id()))
                .body(SubscriptionView.of(created));
    }

    @DeleteMapping("/{subscriptionId}")
    ResponseEntity<Void> delete(@PathVariable UUID subscriptionId) {
        if (!subscriptions.delete(subscriptionId)) {
            throw notFound(subscriptionId);
        }
        return ResponseEntity.noContent().build();
    }

    private static Set<EventType> types(List<String> names) {
        Set<EventType> types = EnumSet.noneOf(EventType.class);
        if (names == null) {
            return types;
        }
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            try {
                types.add(EventType.fromApiName(name == null ? "null" : name));
            } catch (IllegalArgumentException e) {
                throw new InvalidRequestException("filter.types[" + i + "]", e.getMessage());
            }
        }
        return types;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static ResourceNotFoundException notFound(UUID id) {
        return new ResourceNotFoundException("subscription " + id + " does not exist");
    }
}
