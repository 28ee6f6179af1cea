package io.ferry.control.job;

import java.util.Arrays;

/** Which half of a stranded post-copy an operator keeps. */
public enum AbandonSide {
    /** The source's guest as of the switch to post-copy; what the destination wrote since is lost. */
    SOURCE("source"),
    /** The destination's running guest; pages it never received from the source become zero. */
    DESTINATION("destination");

    private final String apiName;

    AbandonSide(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }

    public static AbandonSide fromApiName(String name) {
        return Arrays.stream(values()).filter(s -> s.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown side '" + name + "'"));
    }
}
