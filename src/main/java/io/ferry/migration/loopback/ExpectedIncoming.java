package io.ferry.migration.loopback;

import io.ferry.migration.incoming.IncomingMigration;
import io.ferry.migration.transport.IncomingRegistry;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * A data-plane server's registry with at most one migration expected at a time, where a worker
 * has its {@code Migrations}: the expected migration takes the first connection of its job; once
 * attached, one {@linkplain #expect(IncomingMigration, boolean) marked so} also takes the later
 * connections its stream asks for (a post-copy recovery, the preempt channel).
 */
public final class ExpectedIncoming implements IncomingRegistry {

    private final Consumer<IncomingMigration> onAttach;
    /** Until its first connection attaches. */
    private volatile IncomingMigration expected;
    /** The one that may take later connections of its job. */
    private volatile IncomingMigration attachedLater;

    public ExpectedIncoming() {
        this(migration -> { });
    }

    /** {@code onAttach} runs when the expected migration's first connection attaches (a benchmark starts its clock). */
    public ExpectedIncoming(Consumer<IncomingMigration> onAttach) {
        this.onAttach = onAttach;
    }

    /** Expects {@code migration}'s first connection; with {@code laterConnections} its recovery and preempt ones too. */
    public void expect(IncomingMigration migration, boolean laterConnections) {
        expected = migration;
        if (laterConnections) {
            attachedLater = migration;
        }
    }

    @Override
    public IncomingEndpoint expected(UUID jobId) {
        IncomingMigration recovering = attachedLater;
        if (recovering != null && recovering.jobId().equals(jobId)
                && (recovering.acceptsRecovery() || recovering.acceptsPreempt())) {
            return recovering;   // post-copy recovery (a new connection takes the stream over) or its preempt channel
        }
        IncomingMigration migration = expected;
        return migration == null || !migration.jobId().equals(jobId) ? null : new IncomingEndpoint() {
            @Override
            public byte[] secret() {
                return migration.secret();
            }

            @Override
            public StreamSink attach(String remoteAddress, ConnectionControl connection) {
                expected = null;
                onAttach.accept(migration);
                return migration.attach(remoteAddress, connection);
            }
        };
    }
}
