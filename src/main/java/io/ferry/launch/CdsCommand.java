package io.ferry.launch;

import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code ferry cds}: prepares the class-data sharing cache that makes {@code ferry serve} start fast. */
@Command(name = "cds", description = "Prepare class-data sharing for a fast `serve` start: extract this jar next "
        + "to itself (<jar>-cds/) and record the classes of one control-plane start. `serve` runs this by itself "
        + "in the background after its first start; run it by hand when building an image.")
public final class CdsCommand implements Callable<Integer> {

    @Override
    public Integer call() throws Exception {
        Optional<StartCache> cache = StartCache.ofRunningJar();
        if (cache.isEmpty()) {
            System.err.println("ferry cds: runs only from the packaged jar (java -jar ferry.jar cds), "
                    + "and not with -Dferry.cds=false / FERRY_CDS=off");
            return 2;
        }
        return cache.get().prepare((format, args) -> System.out.println("cds: " + String.format(format, args)))
                ? 0 : 1;
    }
}
