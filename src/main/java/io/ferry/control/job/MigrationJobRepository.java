package io.ferry.control.job;

import java.util.List;
import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;

interface MigrationJobRepository extends JpaRepository<MigrationJob, UUID> {

    List<MigrationJob> findTop1000ByStatusOrderByCreatedAtAsc(JobStatus status);

    List<MigrationJob> findByStatusIn(List<JobStatus> statuses);

    List<MigrationJob> findByDrainIdAndStatus(UUID drainId, JobStatus status);

    List<MigrationJob> findByDrainId(UUID drainId);

    java.util.Optional<MigrationJob> findFirstByGuestIdOrderByCreatedAtDesc(UUID guestId);
}
