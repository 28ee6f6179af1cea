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
        List<String> cmd = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElse("java"), "-Xmx384m",
                "-cp", System.getProperty("java.class.path"), "io.ferry.FerryApplication", "serve",
                "--server.port=" + port, "--ferry.data-dir=" + dataDir));
        cmd.addAll(List.of(extraArgs));
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(new File(dataDir.toFile(), "serve.log")))
                .start();
    }
}
