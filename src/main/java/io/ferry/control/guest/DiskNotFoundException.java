package io.ferry.control.guest;

import java.util.UUID;

public class DiskNotFoundException extends RuntimeException {

    public DiskNotFoundException(UUID id) {
        super("disk " + id + " does not exist");
    }
}
