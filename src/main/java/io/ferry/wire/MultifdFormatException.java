package io.ferry.wire;

import java.util.Objects;

/**
 * A multifd channel refused for a {@link MultifdError}. The message starts with the error's name,
 * so a log line alone says which rule was broken.
 */
public class MultifdFormatException extends StreamFormatException {

    private static final long serialVersionUID = 1L;

    private final MultifdError error;

    public MultifdFormatException(MultifdError error, String detail) {
        super(Objects.requireNonNull(error, "error").name() + ": " + error.description() + ": " + detail);
        this.error = error;
    }

    /** The rule that was broken. */
    public MultifdError error() {
        return error;
    }
}
