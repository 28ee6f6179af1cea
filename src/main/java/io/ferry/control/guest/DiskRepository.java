package io.ferry.control.guest;

import java.util.List;
import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;

interface DiskRepository extends JpaRepository<Disk, UUID> {

    List<Disk> findByGuestIdOrderByNameAscIdAsc(UUID guestId);
}
