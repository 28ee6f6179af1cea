package io.ferry.control.host;

/** An operator revoked the host's credential for good: its worker may not register (403). */
public class RegistrationRefusedException extends RuntimeException {

    public RegistrationRefusedException(String hostId) {
        super("host '" + hostId + "' was revoked by an operator and may not register; "
                + "lift it with POST /api/v1/hosts/" + hostId + "/revoke-credential {\"refuseRegistration\":false}");
    }
}
