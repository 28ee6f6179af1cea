package io.ferry.bench;

import tools.jackson.databind.JsonNode;

/**
 * One answer of QMP's {@code query-migrate} (its {@code return} object), as far as the QEMU
 * benchmark reads it. A figure QEMU left out (a destination reports its status alone, a source
 * only fills {@code downtime} once it completed) is -1.
 *
 * @param status QEMU's MigrationStatus: none, setup, active, completed, failed, cancelled, ...
 * @param totalTimeMs the source's own clock from {@code migrate} to completion, setup included
 * @param setupTimeMs of that, the setup before the first page went out
 * @param downtimeMs how long the guest was stopped, by QEMU's count
 * @param transferredBytes {@code ram.transferred}: the bytes of RAM it sent, headers included
 * @param mbps {@code ram.mbps}: QEMU's own throughput figure, in megabits (10^6) per second
 * @param error {@code error-desc} of a failed migration, else empty
 */
record QemuMigrationStatus(String status, long totalTimeMs, long setupTimeMs, long downtimeMs, long transferredBytes,
                           double mbps, String error) {

    static final String COMPLETED = "completed";

    /** Of the {@code return} object of a {@code query-migrate} reply; {@code {}} (no migration yet) is "none". */
    static QemuMigrationStatus of(JsonNode reply) {
        JsonNode ram = reply.path("ram");
        return new QemuMigrationStatus(reply.path("status").asString("none"), number(reply, "total-time"),
                number(reply, "setup-time"), number(reply, "downtime"), number(ram, "transferred"),
                ram.path("mbps").asDouble(-1), reply.path("error-desc").asString(""));
    }

    boolean completed() {
        return status.equals(COMPLETED);
    }

    /** Completed, failed or cancelled: polling it again changes nothing. */
    boolean finished() {
        return completed() || status.equals("failed") || status.equals("cancelled");
    }

    private static long number(JsonNode node, String field) {
        return node.has(field) ? node.path(field).asLong() : -1;
    }
}
