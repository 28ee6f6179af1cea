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

    /** One failed check: what was checked, why it failed, and whether it is a conflict with a running job. */
    record Check(String name, String detail, boolean conflict) {
    }
}
