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
        if (p.channels() > 1 && p.postcopy()) {
            // as QEMU before 10.0: post-copy's discards, requests and recovery rest on one ordered stream of pages
            names.add("parameters.capabilities.channels=" + p.channels() + " with parameters.capabilities.postcopy=true");
        }
        if (p.verifyChecksums() && p.postcopy()) {
            // checksums are compared at a pre-copy switchover; a job that may switch to post-copy
            // (by request, rule or escalation) would complete unverified, and say nothing of it
            names.add(VERIFY_WITH_POSTCOPY);
        }
        return names;
    }

    /** verifyChecksums together with post-copy, from the request or a matching policy. */
    public static final String VERIFY_WITH_POSTCOPY = "parameters.verifyChecksums=true with parameters.capabilities.postcopy=true";

    /** Why a combination is refused, for the problem's detail; empty when the names say it all. */
    public static String explain(List<String> unsupported) {
        StringBuilder why = new StringBuilder();
        if (unsupported.contains(VERIFY_WITH_POSTCOPY)) {
            why.append("; checksums are verified at a pre-copy switchover only, and a job that may switch to post-copy "
                    + "would complete without verification: ask for one or the other (a matching policy's "
                    + "verifyChecksums or allowPostcopy counts as asked; override it in the request)");
        }
        if (unsupported.stream().anyMatch(n -> n.startsWith("parameters.capabilities.channels="))) {
            why.append("; a job that may switch to post-copy sends its pages on one channel (as QEMU before 10.0): "
                    + "ask for channels=1 or postcopy=false");
        }
        return why.toString();
    }

    /** A new job's reason until the dispatcher starts it. */
    public static final String QUEUED_REASON = "waiting for the dispatcher to start it";
}
