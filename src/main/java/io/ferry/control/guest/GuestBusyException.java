package io.ferry.control.guest;

/** The guest is held by an unfinished migration job, or is in a state that forbids the request. */
public class GuestBusyException extends RuntimeException {

    public GuestBusyException(String message) {
        super(message);
    }
}
