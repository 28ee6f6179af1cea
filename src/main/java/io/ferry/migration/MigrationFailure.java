package io.ferry.migration;

/** A migration could not go on; the message is the reason the job shows. */
public class MigrationFailure extends RuntimeException {

    public MigrationFailure(String message) {
        super(message);
    }

    public MigrationFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
