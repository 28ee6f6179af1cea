package io.ferry.control.admission;

import jakarta.persistence.LockModeType;
import java.util.Optional;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Lock;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;

interface LimitOverrideRepository extends JpaRepository<LimitOverride, String> {

    /** Row lock for the rest of the transaction: admission passes (of all replicas) take turns. */
    @Lock(LockModeType.PESSIMISTIC_WRITE)
    @Query("select l from LimitOverride l where l.scope = :scope")
    Optional<LimitOverride> lock(@Param("scope") String scope);
}
