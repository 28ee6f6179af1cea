package io.ferry.control.job;

import java.util.UUID;

public class JobNotFoundException extends RuntimeException {

    public JobNotFoundException(UUID id) {
        super("migration job " + id + " does not exist");
    }
}
