package io.ferry.control.guest;

import jakarta.persistence.LockModeType;
import java.util.List;
import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Lock;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;

interface GuestRepository extends JpaRepository<Guest, UUID> {

    List<Guest> findByHostIdOrderByCreatedAtAsc(String hostId);

    /** The row locked until the transaction ends: a job's claim (an update of it) waits meanwhile. */
    @Lock(LockModeType.PESSIMISTIC_WRITE)
    @Query("select g from Guest g where g.id = :id")
    java.util.Optional<Guest> lockById(@Param("id") UUID id);

    List<Guest> findAllByOrderByCreatedAtAsc();

    @Query("select coalesce(sum(g.memoryBytes), 0) from Guest g where g.hostId = :hostId and g.state <> 'lost'")
    long allocatedMemory(@Param("hostId") String hostId);

    /** Compare-and-set: a guest takes a job only while it has none. Returns rows changed (0 or 1). */
    @Modifying(clearAutomatically = true, flushAutomatically = true)
    @Query("update Guest g set g.activeJobId = :jobId, g.version = g.version + 1 "
            + "where g.id = :guestId and g.activeJobId is null")
    int claimForJob(@Param("guestId") UUID guestId, @Param("jobId") UUID jobId);

    /** Compare-and-set: only the job that holds the guest can let it go. */
    @Modifying(clearAutomatically = true, flushAutomatically = true)
    @Query("update Guest g set g.activeJobId = null, g.version = g.version + 1 "
            + "where g.id = :guestId and g.activeJobId = :jobId")
    int releaseFromJob(@Param("guestId") UUID guestId, @Param("jobId") UUID jobId);
}
