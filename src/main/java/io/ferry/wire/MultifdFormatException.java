package io.ferry.wire;

import java.util.Objects;

/**
 * A multifd channel refused for a {@link MultifdError}. The message starts with the error's name,
 * so a log line alone says which rule was broken.
 */
public class MultifdFormatException extends StreamFormatException {

    private static final long serialVersionUID = 1L;

    private final MultifdError error;
    private final String detail;

    public MultifdFormatException(MultifdError error, String detail) {
        super(Objects.requireNonNull(error, "error").name() + ": " + error.description() + ": " + detail);
        this.error = error;
        this.detail = detail;
    }

    /** What was found, without the error's name and description (for a caller that adds context). */
    public String detail() {
        return detail;
    }

    /** The rule that was broken. */
    public MultifdError error() {
        return error;
    }
}
