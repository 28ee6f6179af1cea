package io.ferry.wire;

import java.util.Objects;

/**
 * An XBZRLE page refused for an {@link XbzrleError}. The message starts with the error's name, so a
 * log line alone says which rule was broken.
 */
public class XbzrleFormatException extends StreamFormatException {

    private static final long serialVersionUID = 1L;

    private final XbzrleError error;
    private final String detail;

    public XbzrleFormatException(XbzrleError error, String detail) {
        super(Objects.requireNonNull(error, "error").name() + ": " + error.description() + ": " + detail);
        this.error = error;
        this.detail = detail;
    }

    /** The rule that was broken. */
    public XbzrleError error() {
        return error;
    }

    /** The same refusal with {@code where} (the record, its stream offset) added to the detail. */
    XbzrleFormatException at(String where) {
        return new XbzrleFormatException(error, detail + " " + where);
    }
}
