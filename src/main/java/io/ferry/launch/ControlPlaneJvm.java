package io.ferry.launch;

import java.util.ArrayList;
import java.util.List;

/**
 * The JVM choices {@code serve} runs with when it relaunches itself: the client compiler only and the serial
 * collector. The control plane waits on its database and its workers, not on its own code: measured with
 * {@code ferry bench-control} on a 2-core machine, C1 alone kept every API p50 within noise and lowered the
 * p99s (no C2 compilations competing with requests), while it cut the start from about 6 s to about 4 s
 * ({@code ferry bench-start}). Workers are launched with their own options and keep both compilers: the
 * engine is CPU-bound. An operator who chooses a compiler tier or a collector keeps that choice for both kinds.
 */
final class ControlPlaneJvm {

    static final String CLIENT_COMPILER_ONLY = "-XX:TieredStopAtLevel=1";
    static final String SERIAL_COLLECTOR = "-XX:+UseSerialGC";

    private ControlPlaneJvm() {
    }

    /** The choices to add to a command line whose JVM options are {@code chosen}. */
    static List<String> addedTo(List<String> chosen) {
        List<String> added = new ArrayList<>();
        if (chosen.stream().noneMatch(o -> o.startsWith("-XX:TieredStopAtLevel") || o.endsWith("TieredCompilation")
                || o.startsWith("-Xint") || o.startsWith("-Xcomp"))) {
            added.add(CLIENT_COMPILER_ONLY);
        }
        if (chosen.stream().noneMatch(o -> o.startsWith("-XX:+Use") && o.endsWith("GC"))) {
            added.add(SERIAL_COLLECTOR);
        }
        return added;
    }
}
