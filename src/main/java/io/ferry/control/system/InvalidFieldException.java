package io.ferry.control.system;

/**
 * A value a feature's own rules refuse, naming the field as the API spells it
 * ({@code memoryBytes}, {@code ramBlocks[1].sizeBytes}, {@code escalation}): the API answers 400
 * with it in {@code errors}, the console shows it next to its form field. Thrown by the rules
 * both doors share, so neither keeps a copy of them.
 */
public class InvalidFieldException extends RuntimeException {

    private final String field;
    private final String reason;

    public InvalidFieldException(String field, String reason) {
        super(field + ": " + reason);
        this.field = field;
        this.reason = reason;
    }

    public String field() {
        return field;
    }

    public String reason() {
        return reason;
    }
}
