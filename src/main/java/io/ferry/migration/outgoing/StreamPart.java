package io.ferry.migration.outgoing;

/**
 * One live part of the guest on the source side (RAM, the disks), as QEMU's {@code SaveVMHandlers}
 * are: {@link OutgoingMigration}'s loop drives every part through the same steps and knows nothing
 * of what a part sends; a part knows nothing of the others, nor of when the loop switches over.
 * Everything a part writes goes through the {@link StreamWriter} it is handed.
 *
 * <p>The loop calls {@link #setup} once, then rounds of {@link #iterate} followed by
 * {@link #sync}, until the parts' pending bytes fit the downtime limit; then, with the guest
 * paused, {@link #completePrecopy}. Called from the migration thread only.
 */
interface StreamPart {

    /** The loop's say, between runs of a round, on whether the round goes on. */
    @FunctionalInterface
    interface Round {
        /**
         * A safe point. Throws when the migration was cancelled; true when the part may end its
         * round early, leaving the rest due (post-copy was asked for and will send it). A part
         * that cannot post-copy finishes its round.
         */
        boolean stop();
    }

    /** QEMU's {@code save_setup}: the part's START section; from here everything of it is due once (the bulk round). */
    void setup(StreamWriter out) throws InterruptedException;

    /** QEMU's {@code save_live_iterate}: one round, a PART section with everything due, held to the rate limit. */
    void iterate(StreamWriter out, Round round) throws InterruptedException;

    /**
     * QEMU's {@code state_pending_exact}, between rounds: moves what the guest wrote since the
     * last sync into what is due; returns the bytes due now.
     */
    long sync();

    /**
     * QEMU's {@code save_live_complete_precopy}, the guest paused: one last sync, then everything
     * still due as an END section, at full speed.
     */
    void completePrecopy(StreamWriter out) throws InterruptedException;
}
