package io.ferry.control.host;

/** No host of that id has ever registered. */
public class HostNotFoundException extends RuntimeException {

    public HostNotFoundException(String hostId) {
        super("host '" + hostId + "' does not exist");
    }
}
