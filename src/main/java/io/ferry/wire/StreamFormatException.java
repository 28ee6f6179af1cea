package io.ferry.wire;

/**
 * A migration stream (or handshake, or return-path message) that breaks the format or a limit.
 * Its scope is the session that read it: the connection is failed, never the worker.
 */
public class StreamFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public StreamFormatException(String message) {
        super(message);
    }

    public StreamFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
