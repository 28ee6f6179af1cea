package io.ferry.it;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs {@code ferry serve} as a separate process from the test classpath, as an operator would run the jar. */
final class FerryProcess {

    private FerryProcess() {
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    static Process serve(Path dataDir, int port, String... extraArgs) throws IOException {
        return serve(dataDir, port, java.util.Map.of(), extraArgs);
    }

    /** With {@code env} added to its environment (which its local workers inherit). */
    static Process serve(Path dataDir, int port, java.util.Map<String, String> env, String... extraArgs)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElse("java"), "-Xmx384m",
                "-cp", System.getProperty("java.class.path"), "io.ferry.FerryApplication", "serve",
                "--server.port=" + port, "--ferry.data-dir=" + dataDir));
        cmd.addAll(List.of(extraArgs));
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(new File(dataDir.toFile(), "serve.log")));
        builder.environment().putAll(env);
        return builder.start();
    }

    /** Stops {@code serve} cleanly and kills any worker it left (a worker outlives a killed control plane). */
    static void stop(Process serve, Path dataDir) throws IOException, InterruptedException {
        if (serve != null && serve.isAlive()) {
            serve.destroy();
            serve.waitFor();
        }
        Path workers = dataDir.resolve("workers");
        if (!java.nio.file.Files.isDirectory(workers)) {
            return;
        }
        List<Path> pids;
        try (var files = java.nio.file.Files.list(workers)) {   // every local host's, however many it ran
            pids = files.filter(f -> f.getFileName().toString().endsWith(".pid")).toList();
        }
        for (Path pid : pids) {
            ProcessHandle.of(Long.parseLong(java.nio.file.Files.readString(pid).strip()))
                    .ifPresent(ProcessHandle::destroyForcibly);
        }
    }
}
