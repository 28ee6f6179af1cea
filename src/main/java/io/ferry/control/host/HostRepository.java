package io.ferry.control.host;

import jakarta.persistence.LockModeType;
import java.util.Optional;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Lock;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.query.Param;

interface HostRepository extends JpaRepository<Host, String> {

    /** Serialises placement decisions on one host (capacity checks) across control-plane replicas. */
    @Lock(LockModeType.PESSIMISTIC_WRITE)
    @Query("select h from Host h where h.id = :id")
    Optional<Host> lockById(@Param("id") String id);

    Optional<Host> findByCredentialHash(String credentialHash);
}
