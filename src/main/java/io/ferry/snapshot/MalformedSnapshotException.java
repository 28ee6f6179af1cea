package io.ferry.snapshot;

/** A saved stream a restore refused: the decoder's (or the restore's) reason and the file offset it stopped at. */
public final class MalformedSnapshotException extends Exception {

    private static final long serialVersionUID = 1L;

    private final long offset;
    private final String reason;

    MalformedSnapshotException(long offset, String reason, Throwable cause) {
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
