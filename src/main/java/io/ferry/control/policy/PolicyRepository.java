package io.ferry.control.policy;

import java.util.List;
import org.springframework.data.jpa.repository.JpaRepository;

interface PolicyRepository extends JpaRepository<MigrationPolicy, String> {

    List<MigrationPolicy> findAllByOrderByNameAsc();
}
