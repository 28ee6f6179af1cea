package io.ferry.worker;

/**
 * A well-formed command this host cannot carry out for the guest's runtime: a runtime this
 * host cannot run, or a step the guest's runtime does not have (migrating a QEMU guest, for now).
 * Answered 422 with the message.
 */
final class RuntimeRefusedException extends RuntimeException {

    RuntimeRefusedException(String message) {
        super(message);
    }
}
