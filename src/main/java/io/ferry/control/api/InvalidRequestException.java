package io.ferry.control.api;

/** A request field or header that Bean Validation cannot express, answered as 400 naming it. */
class InvalidRequestException extends RuntimeException {

    private final String field;

    InvalidRequestException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    String field() {
        return field;
    }

    String reason() {
        return getMessage().substring(field.length() + 2);
    }
}
