package io.ferry.control.api;

import io.ferry.channel.GuestChecksumsReport;
import io.ferry.control.api.GuestRequests.CreateGuest;
import io.ferry.control.api.GuestRequests.MeasureDirtyRate;
import io.ferry.control.api.GuestRequests.WorkloadBody;
import io.ferry.control.guest.DirtyRateMeasurement;
import io.ferry.control.guest.DirtyRateService;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestLayout;
import io.ferry.control.guest.GuestService;
import io.ferry.control.guest.NewGuest;
import io.ferry.control.guest.RamBlock;
import io.ferry.control.guest.Workload;
import io.ferry.control.ownership.OwnershipService;
import jakarta.validation.Valid;
import java.net.URI;
import java.security.Principal;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

@RestController
@RequestMapping("/api/v1/guests")
class GuestController {

    private final GuestService guests;
    private final DirtyRateService dirtyRates;
    private final OwnershipService ownership;
    private final JsonMapper json;
    private final io.ferry.control.guest.GuestSaves saves;

    GuestController(GuestService guests, DirtyRateService dirtyRates, OwnershipService ownership, JsonMapper json,
                    io.ferry.control.guest.GuestSaves saves) {
        this.saves = saves;
        this.guests = guests;
        this.dirtyRates = dirtyRates;
        this.ownership = ownership;
        this.json = json;
    }

    @PostMapping
    ResponseEntity<GuestResponse> create(@Valid @RequestBody CreateGuest body,
                                         @RequestHeader(name = Requests.IDEMPOTENCY_KEY, required = false) String key,
                                         Principal principal) {
        RestoreRequests.checkFields(body);
        Guest guest = body.restoreFrom() != null
                ? saves.restore(RestoreRequests.restoredGuest(body), Requests.idempotencyKey("guests", key, body, json),
                        Requests.actor(principal))
                : guests.create(toNewGuest(body),
                Requests.idempotencyKey("guests", key, body, json), Requests.actor(principal));
        return ResponseEntity.created(URI.create("/api/v1/guests/" + guest.id())).body(view(guest));
    }

    @GetMapping
    List<GuestResponse> list() {
        Map<UUID, DirtyRateMeasurement> rates = dirtyRates.all();
        Instant now = dirtyRates.now();
        return guests.list().stream().map(g -> view(g, rates.get(g.id()), now)).toList();
    }

    @GetMapping("/{guestId}")
    GuestResponse get(@PathVariable UUID guestId) {
        return view(guests.get(guestId));
    }

    @DeleteMapping("/{guestId}")
    ResponseEntity<Void> delete(@PathVariable UUID guestId) {
        guests.delete(guestId);
        return ResponseEntity.noContent().build();
    }

    record LabelsBody(@jakarta.validation.constraints.NotNull Map<String, String> labels) {
    }

    /** Replaces the guest's labels; they select the policy of its next migration. */
    @PutMapping("/{guestId}/labels")
    GuestResponse relabel(@PathVariable UUID guestId, @Valid @RequestBody LabelsBody body) {
        return view(guests.relabel(guestId, Requests.labels("labels", body.labels())));
    }

    @PostMapping("/{guestId}/pause")
    GuestResponse pause(@PathVariable UUID guestId) {
        return view(guests.pause(guestId));
    }

    @PostMapping("/{guestId}/resume")
    GuestResponse resume(@PathVariable UUID guestId) {
        return view(guests.resume(guestId));
    }

    /**
     * Starts measuring the guest's dirty rate on its worker (QEMU's calc-dirty-rate); 202 with the
     * measurement, {@code measuring}. The figures land on the guest ({@code dirtyRate}).
     */
    @PostMapping("/{guestId}/dirty-rate")
    ResponseEntity<GuestResponse.DirtyRateView> measureDirtyRate(@PathVariable UUID guestId,
                                                                 @Valid @RequestBody(required = false) MeasureDirtyRate body) {
        MeasureDirtyRate b = body == null ? new MeasureDirtyRate(null, null, null) : body;
        DirtyRateMeasurement started = dirtyRates.start(guestId, b.command());
        return ResponseEntity.accepted().location(URI.create("/api/v1/guests/" + guestId))
                .body(GuestResponse.DirtyRateView.of(started, dirtyRates.now()));
    }

    @GetMapping("/{guestId}/checksums")
    GuestChecksumsReport checksums(@PathVariable UUID guestId) {
        return guests.checksums(guestId);
    }

    private GuestResponse view(Guest guest) {
        return view(guest, dirtyRates.find(guest.id()).orElse(null), dirtyRates.now());
    }

    private GuestResponse view(Guest guest, DirtyRateMeasurement dirtyRate, Instant now) {
        return GuestResponse.of(guest, guests.disksOf(guest.id()).stream()
                .map(d -> DiskResponse.of(d, ownership.find(d.id()).orElseThrow()))
                .toList(), dirtyRate == null ? null : GuestResponse.DirtyRateView.of(dirtyRate, now));
    }

    /** The body as a new guest, through the guest package's layout rules (the console's create form uses them too). */
    private static NewGuest toNewGuest(CreateGuest body) {
        if (body.guestRuntime() == io.ferry.channel.GuestRuntime.QEMU) {
            return GuestLayout.newQemuGuest(body.name(), body.hostId(), body.memoryBytes(), body.ramBlocks() != null,
                    body.disks() == null ? null
                            : body.disks().stream().map(d -> new NewGuest.NewDisk(d.name(), d.sizeBytes())).toList(),
                    body.deviceStateBytes() != null, body.workload() != null, Requests.labels("labels", body.labels()));
        }
        WorkloadBody w = body.workload();
        Workload workload = w == null ? GuestLayout.workload(null, null, null, null)
                : GuestLayout.workload(w.dirtyPagesPerSecond(), w.hotSetFraction(), w.diskWritesPerSecond(), w.seed());
        return GuestLayout.newGuest(body.name(), body.hostId(), body.memoryBytes(),
                body.ramBlocks() == null ? null
                        : body.ramBlocks().stream().map(b -> new RamBlock(b.name(), b.sizeBytes())).toList(),
                body.disks() == null ? null
                        : body.disks().stream().map(d -> new NewGuest.NewDisk(d.name(), d.sizeBytes())).toList(),
                body.deviceStateBytes(), workload, Requests.labels("labels", body.labels()));
    }
}
