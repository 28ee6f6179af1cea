package io.ferry.control.job;

import java.util.UUID;

/** A validated request to move a guest to a destination host. */
public record NewMigration(UUID guestId, String destinationHostId, MigrationParameters parameters) {
}
