package io.ferry.control.api;

import io.ferry.channel.GuestChecksumsReport;
import io.ferry.control.api.GuestRequests.CreateGuest;
import io.ferry.control.api.GuestRequests.WorkloadBody;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestService;
import io.ferry.control.guest.NewGuest;
import io.ferry.control.guest.RamBlock;
import io.ferry.control.guest.Workload;
import io.ferry.control.ownership.OwnershipService;
import jakarta.validation.Valid;
import java.net.URI;
import java.security.Principal;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
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

    /** Device state of a small PC-like machine when the request names none. */
    static final int DEFAULT_DEVICE_STATE_BYTES = 64 * 1024;
    /** Default layout keeps a small video-RAM block beside pc.ram, as QEMU's PC machines do. */
    static final long DEFAULT_VRAM_BYTES = 8L << 20;

    private final GuestService guests;
    private final OwnershipService ownership;
    private final JsonMapper json;

    GuestController(GuestService guests, OwnershipService ownership, JsonMapper json) {
        this.guests = guests;
        this.ownership = ownership;
        this.json = json;
    }

    @PostMapping
    ResponseEntity<GuestResponse> create(@Valid @RequestBody CreateGuest body,
                                         @RequestHeader(name = Requests.IDEMPOTENCY_KEY, required = false) String key,
                                         Principal principal) {
        Guest guest = guests.create(toNewGuest(body),
                Requests.idempotencyKey("guests", key, body, json), Requests.actor(principal));
        return ResponseEntity.created(URI.create("/api/v1/guests/" + guest.id())).body(view(guest));
    }

    @GetMapping
    List<GuestResponse> list() {
        return guests.list().stream().map(this::view).toList();
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

    @GetMapping("/{guestId}/checksums")
    GuestChecksumsReport checksums(@PathVariable UUID guestId) {
        return guests.checksums(guestId);
    }

    private GuestResponse view(Guest guest) {
        return GuestResponse.of(guest, guests.disksOf(guest.id()).stream()
                .map(d -> DiskResponse.of(d, ownership.find(d.id()).orElseThrow()))
                .toList());
    }

    private static NewGuest toNewGuest(CreateGuest body) {
        long memory = body.memoryBytes();
        List<RamBlock> blocks = body.ramBlocks() == null
                ? List.of(new RamBlock("pc.ram", memory - DEFAULT_VRAM_BYTES), new RamBlock("vga.vram", DEFAULT_VRAM_BYTES))
                : body.ramBlocks().stream().map(b -> new RamBlock(b.name(), b.sizeBytes())).toList();
        checkRamLayout(memory, blocks);
        List<NewGuest.NewDisk> disks = body.disks() == null ? List.of()
                : body.disks().stream().map(d -> new NewGuest.NewDisk(d.name(), d.sizeBytes())).toList();
        if (disks.stream().map(NewGuest.NewDisk::name).distinct().count() != disks.size()) {
            throw new InvalidRequestException("disks", "disk names must be unique within a guest");
        }
        for (int i = 0; i < disks.size(); i++) {
            if (disks.get(i).sizeBytes() % 4096 != 0) {
                throw new InvalidRequestException("disks[" + i + "].sizeBytes", "must be a multiple of 4096");
            }
        }
        WorkloadBody w = body.workload();
        Workload workload = new Workload(
                w == null || w.dirtyPagesPerSecond() == null ? 0 : w.dirtyPagesPerSecond(),
                w == null || w.hotSetFraction() == null ? 1.0 : w.hotSetFraction(),
                w == null || w.diskWritesPerSecond() == null ? 0 : w.diskWritesPerSecond(),
                w == null || w.seed() == null ? ThreadLocalRandom.current().nextLong() : w.seed());
        return new NewGuest(body.name(), body.hostId(), blocks, disks,
                Objects.requireNonNullElse(body.deviceStateBytes(), DEFAULT_DEVICE_STATE_BYTES), workload,
                Requests.labels("labels", body.labels()));
    }

    private static void checkRamLayout(long memory, List<RamBlock> blocks) {
        if (memory % 4096 != 0) {
            throw new InvalidRequestException("memoryBytes", "must be a multiple of 4096");
        }
        for (int i = 0; i < blocks.size(); i++) {
            if (blocks.get(i).sizeBytes() % 4096 != 0) {
                throw new InvalidRequestException("ramBlocks[" + i + "].sizeBytes", "must be a multiple of 4096");
            }
        }
        if (blocks.stream().map(RamBlock::name).distinct().count() != blocks.size()) {
            throw new InvalidRequestException("ramBlocks", "RAM block names must be unique");
        }
        long sum = blocks.stream().mapToLong(RamBlock::sizeBytes).sum();
        if (sum != memory) {
            throw new InvalidRequestException("ramBlocks",
                    "block sizes add up to " + sum + " bytes but memoryBytes is " + memory);
        }
    }
}
