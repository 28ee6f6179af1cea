package io.ferry.control.ownership;

import java.util.List;
import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;

interface OwnershipRecordRepository extends JpaRepository<OwnershipRecord, Long> {

    List<OwnershipRecord> findByDiskIdOrderByGenerationAsc(UUID diskId);

    OwnershipRecord findFirstByDiskIdOrderByGenerationDesc(UUID diskId);
}
