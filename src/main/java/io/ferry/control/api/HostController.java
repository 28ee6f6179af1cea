package io.ferry.control.api;

import io.ferry.control.guest.GuestService;
import io.ferry.control.host.HostService;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
@RequestMapping("/api/v1/hosts")
class HostController {

    private final HostService hosts;
    private final GuestService guests;

    HostController(HostService hosts, GuestService guests) {
        this.hosts = hosts;
        this.guests = guests;
    }

    @GetMapping
    List<HostResponse> list() {
        return hosts.list().stream().map(h -> HostResponse.of(h, guests.allocatedMemory(h.id()))).toList();
    }

    @GetMapping("/{hostId}")
    HostResponse get(@PathVariable String hostId) {
        return hosts.find(hostId).map(h -> HostResponse.of(h, guests.allocatedMemory(h.id())))
                .orElseThrow(() -> new ResourceNotFoundException("host '" + hostId + "' does not exist"));
    }
}
