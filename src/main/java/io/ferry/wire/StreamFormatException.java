package io.ferry.wire;

/** The bytes are not a valid migration stream; the message says what is wrong. Fails the session. */
public class StreamFormatException extends RuntimeException {

    public StreamFormatException(String message) {
        super(message);
    }
}
