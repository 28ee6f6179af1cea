package io.ferry.control.job;

import java.util.ArrayList;
import java.util.List;

/**
 * What the migration engine of this version can honour. A request for anything else is
 * refused by name (HTTP 422) instead of being accepted and silently ignored. Each engine
 * issue that lands widens this list.
 */
public final class EngineFeatures {

    private EngineFeatures() {
    }

    /** Names (as the API spells them) of the requested parameters this engine does not support. */
    public static List<String> unsupported(MigrationParameters p) {
        List<String> names = new ArrayList<>();
        if (p.autoConverge()) {
            names.add("parameters.capabilities.autoConverge");
        }
        if (p.xbzrle()) {
            names.add("parameters.capabilities.xbzrle");
        }
        if (!"none".equals(p.compression())) {
            names.add("parameters.capabilities.compression=" + p.compression());
        }
        if (p.channels() != 1) {
            names.add("parameters.capabilities.channels=" + p.channels());
        }
        return names;
    }

    /** A new job's reason until the dispatcher starts it. */
    public static final String QUEUED_REASON = "waiting for the dispatcher to start it";
}
