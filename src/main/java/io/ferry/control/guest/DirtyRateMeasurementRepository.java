package io.ferry.control.guest;

import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;

interface DirtyRateMeasurementRepository extends JpaRepository<DirtyRateMeasurement, UUID> {
}
