package io.ferry.control.lease;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.UUID;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * Who this control-plane process is in the lease tables: {@code name/instance}. The name is
 * stable across restarts (configured, or host name and port); the instance is new for every
 * process, so a replica that restarts recognises the leases its previous life left and takes
 * them back at once, without waiting for them to expire.
 */
@Component
public class ReplicaIdentity {

    private final String name;
    private final String owner;

    ReplicaIdentity(@Value("${ferry.replica.name:}") String configured, @Value("${server.port:8080}") int port) {
        this.name = configured == null || configured.isBlank() ? hostName() + ":" + port : configured;
        if (name.contains("/") || name.length() > 150) {
            throw new IllegalArgumentException("ferry.replica.name must not contain '/' and must be at most 150 "
                    + "characters: '" + name + "'");
        }
        this.owner = name + "/" + UUID.randomUUID();
    }

    /** The stable name (several processes in a row). */
    public String name() {
        return name;
    }

    /** This process: the owner column of the leases it holds. */
    public String owner() {
        return owner;
    }

    /** Whether {@code owner} is an earlier process of this replica (dead: this one has its name). */
    boolean isEarlierLifeOf(String owner) {
        return owner != null && owner.startsWith(name + "/") && !owner.equals(this.owner);
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
