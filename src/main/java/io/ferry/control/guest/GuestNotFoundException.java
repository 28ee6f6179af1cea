package io.ferry.control.guest;

import java.util.UUID;

public class GuestNotFoundException extends RuntimeException {

    public GuestNotFoundException(UUID id) {
        super("guest " + id + " does not exist");
    }
}
