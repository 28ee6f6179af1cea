package io.ferry.control.job;

/** Resolved parameters that contradict each other (400), e.g. a switch to post-copy without the capability. */
public class InvalidParametersException extends RuntimeException {

    public InvalidParametersException(String message) {
        super(message);
    }
}
