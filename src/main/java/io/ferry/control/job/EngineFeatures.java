package io.ferry.control.job;

import io.ferry.channel.ConvergenceSettings;
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
        ConvergenceSettings c = p.convergence();
        if (c.xbzrle().enabled() && p.channels() > 1) {
            names.add(XBZRLE_WITH_CHANNELS);
        }
        if (c.compression().enabled() && p.postcopy()) {
            names.add(COMPRESSION_WITH_POSTCOPY);
        }
        if (c.compression().enabled() && c.xbzrle().enabled()) {
            names.add(COMPRESSION_WITH_XBZRLE);
        }
        if (p.verifyChecksums() && p.postcopy()) {
            // checksums are compared at a pre-copy switchover; a job that may switch to post-copy
            // (by request, rule or escalation) would complete unverified, and say nothing of it
            names.add(VERIFY_WITH_POSTCOPY);
        }
        return names;
    }

    static final String XBZRLE_WITH_CHANNELS = "parameters.capabilities.xbzrle=true with parameters.capabilities.channels>1";
    static final String COMPRESSION_WITH_POSTCOPY = "parameters.capabilities.compression with parameters.capabilities.postcopy=true";
    static final String COMPRESSION_WITH_XBZRLE = "parameters.capabilities.compression with parameters.capabilities.xbzrle=true";

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
        if (unsupported.contains(XBZRLE_WITH_CHANNELS)) {
            why.append("; XBZRLE encodes pages on the main stream only (QEMU: multifd is not compatible with xbzrle): "
                    + "ask for channels=1 (the default with xbzrle) or no xbzrle");
        }
        if (unsupported.contains(COMPRESSION_WITH_POSTCOPY)) {
            why.append("; pages are compressed on the multifd channels, and post-copy sends its pages uncompressed on "
                    + "the main stream, as QEMU (multifd-compression is pre-copy only): ask for one or the other");
        }
        if (unsupported.contains(COMPRESSION_WITH_XBZRLE)) {
            why.append("; XBZRLE (main stream) and compression (multifd channels) exclude each other, as in QEMU: "
                    + "ask for one");
        }
        return why.toString();
    }

    /** A new job's reason until the dispatcher starts it. */
    public static final String QUEUED_REASON = "waiting for the dispatcher to start it";
}
