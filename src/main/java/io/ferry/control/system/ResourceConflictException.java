package io.ferry.control.system;

/** The request conflicts with what exists (409), e.g. a name already taken. */
public class ResourceConflictException extends RuntimeException {

    public ResourceConflictException(String message) {
        super(message);
    }
}
