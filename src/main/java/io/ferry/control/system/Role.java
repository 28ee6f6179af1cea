package io.ferry.control.system;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.authority.SimpleGrantedAuthority;

/**
 * What a caller of /api/v1 may do. Each role includes the ones before it: a viewer reads
 * everything, an operator also moves guests (creates guests and migrations, cancels, switches,
 * recovers, tunes, drains), an admin also changes the cluster's rules (policies, limits, host
 * labels, webhooks), abandons stranded post-copies, and manages tokens and reads the audit log.
 * The operation-by-operation table is {@link ApiRoles}; openapi.yaml repeats it as
 * {@code x-ferry-role}.
 */
public enum Role {
    VIEWER("viewer"),
    OPERATOR("operator"),
    ADMIN("admin");

    private final String apiName;

    Role(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }

    /** The Spring Security authority of this role alone ({@code ROLE_VIEWER}, …). */
    public String authority() {
        return "ROLE_" + name();
    }

    /** The authorities a caller with this role holds: its own and those of every role below it. */
    public List<GrantedAuthority> grantedAuthorities() {
        List<GrantedAuthority> authorities = new ArrayList<>();
        for (Role r : values()) {
            if (r.ordinal() <= ordinal()) {
                authorities.add(new SimpleGrantedAuthority(r.authority()));
            }
        }
        return authorities;
    }

    public boolean includes(Role other) {
        return ordinal() >= other.ordinal();
    }

    public static Role fromApiName(String name) {
        for (Role r : values()) {
            if (r.apiName.equals(name)) {
                return r;
            }
        }
        throw new IllegalArgumentException("'" + name + "' is not a role (viewer, operator, admin)");
    }

    /** The role a JWT claim value names, or null: role names match without regard to case. */
    static Role fromClaim(String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        for (Role r : values()) {
            if (r.apiName.equals(v)) {
                return r;
            }
        }
        return null;
    }

    /** The highest role a caller holds, from its authorities; null when it holds none. */
    public static Role of(java.util.Collection<? extends GrantedAuthority> authorities) {
        Role highest = null;
        for (GrantedAuthority a : authorities) {
            for (Role r : values()) {
                if (r.authority().equals(a.getAuthority()) && (highest == null || r.includes(highest))) {
                    highest = r;
                }
            }
        }
        return highest;
    }
}
