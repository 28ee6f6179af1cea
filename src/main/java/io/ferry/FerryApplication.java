package io.ferry;

import io.ferry.bench.BlockCopyBenchmark;
import io.ferry.bench.PostcopyBenchmark;
import io.ferry.bench.PrecopyBenchmark;
import io.ferry.control.ControlPlaneApplication;
import io.ferry.launch.CdsCommand;
import io.ferry.launch.StartCache;
import io.ferry.worker.WorkerCommand;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/** Entry point of the one jar: {@code ferry serve} (control plane) or {@code ferry worker} (data plane). */
@Command(name = "ferry", mixinStandardHelpOptions = true, version = "ferry 0.1.0",
        description = "Live-migration orchestrator.",
        subcommands = {FerryApplication.Serve.class, WorkerCommand.class, PrecopyBenchmark.class,
                BlockCopyBenchmark.class, PostcopyBenchmark.class, io.ferry.bench.FleetBenchmark.class,
                io.ferry.bench.ControlBenchmark.class, io.ferry.bench.StartBenchmark.class, CdsCommand.class,
                io.ferry.bench.TlsBenchmark.class, io.ferry.bench.DowntimeBenchmark.class,
                io.ferry.bench.QemuBenchmark.class, io.ferry.bench.ConvergeBenchmark.class,
                io.ferry.worker.DataPlaneCertsCommand.class,
                io.ferry.bench.BenchEndpoint.class, io.ferry.inspect.InspectCommand.class})
public final class FerryApplication {

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("serve")) {
            // from the packaged jar with a prepared cache, this process becomes serve with class-data sharing
            StartCache.relaunchServeIfReady(args);
        }
        if (args.length > 0 && !args[0].equals("serve") && System.getProperty("logback.configurationFile") == null) {
            // A worker has no Spring Boot logging set-up; give logback its own file before any logger exists.
            System.setProperty("logback.configurationFile", "logback-worker.xml");
        }
        int code = new CommandLine(new FerryApplication()).execute(args);
        // serve returns once Spring runs in its own threads; bench ends the JVM when done.
        if (code != 0 || (args.length > 0 && args[0].startsWith("bench"))) {
            System.exit(code);
        }
    }

    @Command(name = "serve", description = "Run the control plane (REST API, jobs, hosts). "
            + "Spring Boot options may follow, e.g. --server.port=9090.")
    static final class Serve implements Callable<Integer> {

        @Unmatched
        private List<String> springArguments = new ArrayList<>();

        @Override
        public Integer call() {
            ControlPlaneApplication.run(springArguments.toArray(String[]::new));
            // up without class-data sharing from the packaged jar: prepare it, niced, for the next start
            StartCache.ofRunningJar().ifPresent(StartCache::prepareInBackground);
            return 0;
        }
    }
}
