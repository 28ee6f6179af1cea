package io.ferry.control.drain;

/** The host has never been drained (404). */
public class NoDrainException extends RuntimeException {

    NoDrainException(String hostId) {
        super("host '" + hostId + "' has no drain");
    }
}
