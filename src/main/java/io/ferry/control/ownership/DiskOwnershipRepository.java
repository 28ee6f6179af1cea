package io.ferry.control.ownership;

import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;

interface DiskOwnershipRepository extends JpaRepository<DiskOwnership, UUID> {
}
