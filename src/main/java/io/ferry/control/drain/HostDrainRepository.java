package io.ferry.control.drain;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;

interface HostDrainRepository extends JpaRepository<HostDrain, UUID> {

    List<HostDrain> findByState(DrainState state);

    Optional<HostDrain> findFirstByHostIdOrderByStartedAtDesc(String hostId);
}
