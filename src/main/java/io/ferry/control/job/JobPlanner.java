package io.ferry.control.job;

import java.util.List;

/**
 * Turns a request into a job plan: the guest's current host as source, a destination (named
 * or placed), parameters resolved from request, policy and defaults, and the checks the move
 * fails. Implemented by the policy room; the job room only asks.
 */
public interface JobPlanner {

    /** The plan (null when a check failed so early that no plan can be made) and every failing check. */
    Planned plan(NewMigration request);

    record Planned(JobPlan plan, List<Check> failures) {

        public boolean ok() {
            return failures.isEmpty();
        }
    }

    /** One failed check: what was checked, why it failed, and what kind of refusal it is. */
    record Check(String name, String detail, Refusal refusal) {
    }

    /** How a create refuses a failed check. */
    enum Refusal {
        /** The request contradicts itself (400). */
        INVALID,
        /** The guest is busy: another job holds it, or its state forbids a move (409). */
        CONFLICT,
        /** The move cannot be carried out: hosts, capacity, storage, labels (422). */
        PLACEMENT
    }
}
