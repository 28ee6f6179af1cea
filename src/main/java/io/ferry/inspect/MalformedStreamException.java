package io.ferry.inspect;

/** A stream file the decoder refused: its reason and the file offset of the offending element. */
public final class MalformedStreamException extends Exception {

    private static final long serialVersionUID = 1L;

    private final long offset;
    private final String reason;

    MalformedStreamException(long offset, String reason, Throwable cause) {
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
