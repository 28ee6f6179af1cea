package io.ferry.control.guest;

/** A well-formed request that cannot be honoured where it asks: unknown or unreachable host, no room. */
public class PlacementException extends RuntimeException {

    public PlacementException(String message) {
        super(message);
    }
}
