package io.ferry.migration.incoming;

import io.ferry.migration.transport.IncomingRegistry;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;

/**
 * How the destination's migration ends: the one verdict every connection of the stream answers
 * the transport (SHUT 0, or 1 with the reason the source learns), and the worker's callback with
 * (jobId, resumed?). They are told apart because they come apart: a source told to fail back may
 * still lose to this side's activation, and a post-copy that ends with a gap keeps the guest here.
 */
final class Outcome {

    private final UUID jobId;
    /** Called once with (jobId, resumed?) when the migration ends either way. */
    private final BiConsumer<UUID, Boolean> done;
    private final CompletableFuture<IncomingRegistry.Verdict> verdict = new CompletableFuture<>();
    private String failureReason;

    Outcome(UUID jobId, BiConsumer<UUID, Boolean> done) {
        this.jobId = jobId;
        this.done = done;
    }

    /** SHUT(0): the guest runs here, the migration is over. */
    void succeeded() {
        verdict.complete(new IncomingRegistry.Verdict(0, null));
        done.accept(jobId, true);
    }

    /** SHUT(1) with {@code reason}; whether the guest stays here is {@link #ended}'s to say. */
    void refused(String reason) {
        failureReason = reason;
        verdict.complete(new IncomingRegistry.Verdict(1, reason));
    }

    /** The migration is over for the worker: the guest runs here ({@code resumed}) or is dropped. */
    void ended(boolean resumed) {
        done.accept(jobId, resumed);
    }

    /** What every connection of the stream answers the transport: the one verdict of the migration. */
    abstract static class Sink implements IncomingRegistry.StreamSink {

        private final Outcome outcome;

        Sink(Outcome outcome) {
            this.outcome = outcome;
        }

        @Override
        public CompletionStage<IncomingRegistry.Verdict> verdict() {
            return outcome.verdict;
        }

        @Override
        public String failureReason() {
            return outcome.failureReason;
        }
    }
}
