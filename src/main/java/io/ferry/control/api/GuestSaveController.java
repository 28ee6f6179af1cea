package io.ferry.control.api;

import io.ferry.channel.SaveFormat;
import io.ferry.control.guest.GuestSaves;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Pattern;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Saving a guest to a file in its host's datastore (issue 16, item 4); a guest is restored from
 * one by {@code POST /api/v1/guests} with {@code restoreFrom} ({@link GuestController}).
 */
@RestController
@RequestMapping("/api/v1/guests")
class GuestSaveController {

    private final GuestSaves saves;

    GuestSaveController(GuestSaves saves) {
        this.saves = saves;
    }

    /** The body of a save; may be left out (format {@code ferry}). */
    record SaveBody(@Pattern(regexp = "ferry|qemu", message = "must be 'ferry' or 'qemu'") String format) {
    }

    @PostMapping("/{guestId}/save")
    ResponseEntity<SaveResponse> save(@PathVariable UUID guestId, @Valid @RequestBody(required = false) SaveBody body) {
        SaveFormat format = body == null || body.format() == null ? SaveFormat.FERRY
                : SaveFormat.fromApiName(body.format());
        return ResponseEntity.status(HttpStatus.CREATED).body(SaveResponse.of(saves.save(guestId, format)));
    }
}
