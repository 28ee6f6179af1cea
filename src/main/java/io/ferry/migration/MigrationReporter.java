package io.ferry.migration;

import io.ferry.channel.MigrationReport;

/** Where a migration tells how it stands; the worker forwards reports to the control plane. */
@FunctionalInterface
public interface MigrationReporter {

    void report(MigrationReport report);
}
