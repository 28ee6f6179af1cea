package io.ferry.control.drain;

import java.util.List;
import java.util.UUID;
import org.springframework.data.jpa.repository.JpaRepository;

interface DrainGuestRepository extends JpaRepository<DrainGuest, DrainGuest.Key> {

    List<DrainGuest> findByKeyDrainId(UUID drainId);

    List<DrainGuest> findByState(DrainGuestState state);
}
