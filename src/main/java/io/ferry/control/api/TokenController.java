package io.ferry.control.api;

import io.ferry.control.system.ApiTokens;
import io.ferry.control.system.ApiTokens.ApiToken;
import io.ferry.control.system.Role;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;
import java.net.URI;
import java.security.Principal;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** Named API tokens with a role: created (the token shown once), listed and revoked by an admin. */
@RestController
@RequestMapping("/api/v1/tokens")
class TokenController {

    private final ApiTokens tokens;

    TokenController(ApiTokens tokens) {
        this.tokens = tokens;
    }

    record TokenBody(
            @NotNull @Pattern(regexp = ApiTokens.NAME,
                    message = "must be a lower-case DNS label (a-z, 0-9, '-', at most 63)") String name,
            @NotNull @Pattern(regexp = "viewer|operator|admin", message = "must be 'viewer', 'operator' or 'admin'")
            String role,
            @Size(max = 1024) String description) {
    }

    record TokenView(UUID id, String name, String role, String description, Instant createdAt, String createdBy,
                     Instant revokedAt, String revokedBy) {

        static TokenView of(ApiToken t) {
            return new TokenView(t.id(), t.name(), t.role().apiName(), t.description(), t.createdAt(), t.createdBy(),
                    t.revokedAt(), t.revokedBy());
        }
    }

    /** The answer to a create: the token's record and, this once, the token itself. */
    record CreatedTokenView(UUID id, String name, String role, String description, Instant createdAt,
                            String createdBy, Instant revokedAt, String revokedBy, String token) {
    }

    @PostMapping
    ResponseEntity<CreatedTokenView> create(@Valid @RequestBody TokenBody body, Principal principal) {
        ApiTokens.Created created = tokens.create(body.name(), Role.fromApiName(body.role()), body.description(),
                Requests.actor(principal));
        ApiToken t = created.token();
        return ResponseEntity.created(URI.create("/api/v1/tokens/" + t.id())).body(new CreatedTokenView(t.id(),
                t.name(), t.role().apiName(), t.description(), t.createdAt(), t.createdBy(), null, null,
                created.secret()));
    }

    @GetMapping
    List<TokenView> list() {
        return tokens.list().stream().map(TokenView::of).toList();
    }

    @GetMapping("/{tokenId}")
    TokenView get(@PathVariable UUID tokenId) {
        return tokens.find(tokenId).map(TokenView::of).orElseThrow(() -> notFound(tokenId));
    }

    /** Revokes the token at once (on other replicas within a second); its record stays, marked revoked. */
    @DeleteMapping("/{tokenId}")
    ResponseEntity<Void> revoke(@PathVariable UUID tokenId, Principal principal) {
        tokens.revoke(tokenId, Requests.actor(principal)).orElseThrow(() -> notFound(tokenId));
        return ResponseEntity.noContent().build();
    }

    private static ResourceNotFoundException notFound(UUID id) {
        return new ResourceNotFoundException("token " + id + " does not exist");
    }
}
