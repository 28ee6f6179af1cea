package io.ferry.wire;

/**
 * A stream file the decoder (or its reader) refused: the reason and the byte offset in the file
 * where it stopped, apart, so a person reads one and a program the other.
 */
public final class MalformedStreamFileException extends Exception {

    private static final long serialVersionUID = 1L;

    private final long offset;
    private final String reason;

    public MalformedStreamFileException(long offset, String reason, Throwable cause) {
        super("malformed at byte " + offset + ": " + reason, cause);
        this.offset = offset;
        this.reason = reason;
    }

    public long offset() {
        return offset;
    }

    public String reason() {
        return reason;
    }
}
