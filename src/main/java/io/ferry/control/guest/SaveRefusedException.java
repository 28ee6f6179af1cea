package io.ferry.control.guest;

/** A save the guest cannot have in the format asked for (answered 422). */
public class SaveRefusedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public SaveRefusedException(String message) {
        super(message);
    }
}
