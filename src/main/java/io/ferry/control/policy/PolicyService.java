package io.ferry.control.policy;

import io.ferry.control.system.ResourceConflictException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * Migration policies' use cases. A policy applies to jobs created after the change; a running
 * job keeps the settings it was created with (they are stored on it).
 */
@Service
public class PolicyService {

    private static final Logger log = LoggerFactory.getLogger(PolicyService.class);

    private final PolicyRepository policies;
    private final Clock clock;

    PolicyService(PolicyRepository policies, Clock clock) {
        this.policies = policies;
        this.clock = clock;
    }

    @Transactional(readOnly = true)
    public List<MigrationPolicy> list() {
        return policies.findAllByOrderByNameAsc();
    }

    @Transactional(readOnly = true)
    public Optional<MigrationPolicy> find(String name) {
        return policies.findById(name);
    }

    /** Creates a policy; a policy of that name already existing is a conflict. */
    @Transactional
    public MigrationPolicy create(String name, String description, Map<String, String> guestSelector,
                                  Map<String, String> hostSelector, PolicySettings settings, String actor) {
        if (policies.existsById(name)) {
            throw new ResourceConflictException("policy '" + name + "' already exists; PUT /api/v1/policies/" + name
                    + " replaces it");
        }
        MigrationPolicy policy = new MigrationPolicy(name, clock.instant());
        policy.define(description, guestSelector, hostSelector, settings, clock.instant());
        log.info("policy {} created by {}", name, actor);
        return policies.saveAndFlush(policy);
    }

    /** Creates or replaces the policy of that name. Returns true when it was created. */
    @Transactional
    public boolean put(String name, String description, Map<String, String> guestSelector,
                       Map<String, String> hostSelector, PolicySettings settings, String actor) {
        Optional<MigrationPolicy> existing = policies.findById(name);
        MigrationPolicy policy = existing.orElseGet(() -> new MigrationPolicy(name, clock.instant()));
        policy.define(description, guestSelector, hostSelector, settings, clock.instant());
        policies.saveAndFlush(policy);
        log.info("policy {} {} by {}", name, existing.isPresent() ? "replaced" : "created", actor);
        return existing.isEmpty();
    }

    /** Deletes the policy; false when there was none. Jobs that used it keep their settings and its name. */
    @Transactional
    public boolean delete(String name, String actor) {
        if (!policies.existsById(name)) {
            return false;
        }
        policies.deleteById(name);
        log.info("policy {} deleted by {}", name, actor);
        return true;
    }
}
