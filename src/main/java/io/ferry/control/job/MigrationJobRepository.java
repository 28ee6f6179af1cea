package io.ferry.control.job;

import java.util.List;
import java.util.UUID;
import org.springframework.data.domain.Page;
import org.springframework.data.domain.Pageable;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;

interface MigrationJobRepository extends JpaRepository<MigrationJob, UUID> {

    List<MigrationJob> findTop1000ByStatusOrderByCreatedAtAsc(JobStatus status);

    List<MigrationJob> findByStatusIn(List<JobStatus> statuses);

    List<MigrationJob> findByDrainIdAndStatus(UUID drainId, JobStatus status);

    List<MigrationJob> findByDrainId(UUID drainId);

    @Query("""
            select j from MigrationJob j
            where (:status is null or j.status = :status)
              and (:guestId is null or j.guestId = :guestId)
              and (:hostId is null or j.sourceHostId = :hostId or j.destinationHostId = :hostId)
            """)
    Page<MigrationJob> search(@Param("status") JobStatus status, @Param("guestId") UUID guestId,
                              @Param("hostId") String hostId, Pageable pageable);
}
