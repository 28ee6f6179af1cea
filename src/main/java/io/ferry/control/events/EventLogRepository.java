package io.ferry.control.events;

import java.time.Instant;
import java.util.List;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;

interface EventLogRepository extends JpaRepository<EventLog, Long> {

    /** The next rows after {@code after}, for the follower (bounded: the rest come next poll). */
    List<EventLog> findTop1000ByIdGreaterThanOrderByIdAsc(long after);

    /** A page of a replay: rows after {@code after} up to the follower's position. */
    List<EventLog> findTop500ByIdGreaterThanAndIdLessThanEqualOrderByIdAsc(long after, long upTo);

    /** A job's latest events of one type, newest first (the console's charts; index event_log_job_idx). */
    List<EventLog> findTop2000ByJobIdAndTypeOrderByIdDesc(java.util.UUID jobId, EventType type);

    @Query("select coalesce(max(e.id), 0) from EventLog e")
    long maxId();

    @Query("select coalesce(max(e.id), 0) from EventLog e where e.at < :cutoff")
    long maxIdBefore(@Param("cutoff") Instant cutoff);

    @Modifying
    @Query("delete from EventLog e where e.id <= :through")
    int deleteThrough(@Param("through") long through);
}
