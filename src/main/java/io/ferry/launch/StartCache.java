package io.ferry.launch;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Class-data sharing for {@code ferry serve} started as {@code java -jar ferry.jar serve}.
 *
 * <p>A Spring Boot jar loads its classes from nested jars, which the JVM cannot share. Next to the jar
 * ({@code ferry.jar} → {@code ferry-cds/<key>/}) this keeps the jar extracted into plain jars plus a
 * dynamic CDS archive recorded by a training run (the context refreshed once, then the JVM exits). When that
 * cache is complete and was made from this very jar by this very JVM, {@code serve} replaces its process
 * (execv: same pid, same stdio, same signals) by {@code java <same options> -XX:SharedArchiveFile=… -jar
 * <extracted>/ferry.jar serve …} (with the {@link ControlPlaneJvm} choices), which starts in about 40 % of the time. Anything missing, stale or
 * unusual (another JVM, options that choose CDS themselves, no /proc, exec failing) only means the
 * ordinary start: the cache may cost speed, never a start.
 *
 * <p>The cache is made by {@code ferry cds} (a separate, niced process that {@code serve} spawns once it is
 * up when there is no cache yet, or that an image build runs). {@code -Dferry.cds=false} or
 * {@code FERRY_CDS=off} turns all of it off.
 */
public final class StartCache {

    /** System property the relaunched serve carries: the archive, for its local workers to share. */
    public static final String ARCHIVE_PROPERTY = "ferry.cds.archive";
    private static final String COMPLETE = "complete";
    private static final String ARCHIVE = "app.jsa";

    private final Path jar;
    private final Path root;
    private final String key;

    StartCache(Path jar, Path root, String key) {
        this.jar = jar;
        this.root = root;
        this.key = key;
    }

    /**
     * The cache of the Spring Boot jar this JVM runs from, or empty when it does not run from one (classes
     * directories, an extracted jar, the relaunched serve itself) or CDS is switched off.
     */
    public static Optional<StartCache> ofRunningJar() {
        if (disabled()) {
            return Optional.empty();
        }
        String classPath = System.getProperty("java.class.path", "");
        if (!classPath.endsWith(".jar") || classPath.contains(File.pathSeparator)
                || StartCache.class.getClassLoader() == ClassLoader.getSystemClassLoader()) {
            return Optional.empty();   // not the nested-jar launcher: nothing to gain, or already relaunched
        }
        return of(Path.of(classPath));
    }

    /** The cache of {@code jar} for the running JVM. */
    static Optional<StartCache> of(Path jar) {
        try {
            Path absolute = jar.toAbsolutePath().normalize();
            String name = absolute.getFileName().toString().replaceFirst("\\.jar$", "");
            String key = keyOf(absolute);
            return Optional.of(new StartCache(absolute, absolute.resolveSibling(name + "-cds"), key));
        } catch (IOException | UncheckedIOException e) {
            return Optional.empty();
        }
    }

    static boolean disabled() {
        return "false".equalsIgnoreCase(System.getProperty("ferry.cds", "true"))
                || "off".equalsIgnoreCase(System.getenv().getOrDefault("FERRY_CDS", "on"))
                || "false".equalsIgnoreCase(System.getenv().getOrDefault("FERRY_CDS", "on"));
    }

    /** The jar's identity and the JVM's: an archive only matches the classes and the JVM that made it. */
    private static String keyOf(Path jar) throws IOException {
        String identity = String.join("\n", jar.toString(), Long.toString(Files.size(jar)),
                Long.toString(Files.getLastModifiedTime(jar).toMillis()), System.getProperty("java.home", ""),
                System.getProperty("java.vm.name", ""), System.getProperty("java.vm.version", ""),
                System.getProperty("os.arch", ""));
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(identity.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    Path directory() {
        return root.resolve(key);
    }

    Path archive() {
        return directory().resolve(ARCHIVE);
    }

    Path extractedJar() {
        return directory().resolve("app").resolve(jar.getFileName());
    }

    /** Complete (the marker is written last) and made for this jar and JVM (the key names the folder). */
    public boolean ready() {
        return Files.isRegularFile(directory().resolve(COMPLETE)) && Files.isRegularFile(archive())
                && Files.isRegularFile(extractedJar());
    }

    // ---------------------------------------------------------------- relaunch

    /**
     * The command that runs {@code serve} from the cache, given this JVM's command line
     * ({@code java <options> -jar <jar> <args>}), or empty when this JVM was started some other way or its
     * options decide about CDS themselves.
     */
    Optional<List<String>> relaunchCommand(List<String> commandLine, String[] args) {
        int jarFlag = commandLine.indexOf("-jar");
        if (jarFlag < 1 || jarFlag + 1 >= commandLine.size()) {
            return Optional.empty();
        }
        List<String> options = commandLine.subList(1, jarFlag);
        for (String option : options) {
            if (option.startsWith("-Xshare") || option.startsWith("-XX:SharedArchiveFile")
                    || option.startsWith("-XX:ArchiveClassesAtExit") || option.contains("AutoCreateSharedArchive")
                    || option.startsWith("-Djarmode")) {
                return Optional.empty();
            }
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(commandLine.get(0));
        cmd.addAll(options);
        cmd.addAll(ControlPlaneJvm.addedTo(options));
        cmd.add("-XX:SharedArchiveFile=" + archive());
        cmd.add("-Xshare:auto");
        cmd.add("-D" + ARCHIVE_PROPERTY + "=" + archive());
        cmd.add("-jar");
        cmd.add(extractedJar().toString());
        cmd.addAll(Arrays.asList(args));
        return Optional.of(cmd);
    }

    /**
     * Replaces this process by {@code serve} from the cache when the cache is ready; returns (having done
     * nothing) otherwise, or when exec is refused.
     */
    public static void relaunchServeIfReady(String[] args) {
        Optional<StartCache> cache = ofRunningJar();
        if (cache.isEmpty() || !cache.get().ready()) {
            return;
        }
        Optional<List<String>> command = ownCommandLine().flatMap(line -> cache.get().relaunchCommand(line, args));
        if (command.isEmpty()) {
            return;
        }
        try {
            String[] argv = command.get().toArray(String[]::new);
            int result = LibC.INSTANCE.execv(argv[0], argv);   // returns only on failure
            System.err.println("ferry: class-data sharing relaunch failed (execv " + result + ", errno "
                    + Native.getLastError() + "); starting without it");
        } catch (LinkageError | RuntimeException e) {
            System.err.println("ferry: class-data sharing relaunch unavailable (" + e + "); starting without it");
        }
    }

    /** This JVM's whole command line; the JDK's ProcessHandle.Info may cut long ones short. */
    private static Optional<List<String>> ownCommandLine() {
        try {
            Path self = Path.of("/proc/self/cmdline");
            if (!Files.isReadable(self)) {
                return Optional.empty();
            }
            String raw = Files.readString(self);
            if (raw.endsWith("\0")) {
                raw = raw.substring(0, raw.length() - 1);
            }
            List<String> line = Arrays.asList(raw.split("\0", -1));
            // argv[0] may be a bare "java" found on PATH; execv needs the file itself
            String java = ProcessHandle.current().info().command().orElse(null);
            if (java == null) {
                return Optional.empty();
            }
            List<String> withPath = new ArrayList<>(line);
            withPath.set(0, java);
            return Optional.of(withPath);
        } catch (IOException | UncheckedIOException e) {
            return Optional.empty();
        }
    }

    interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int execv(String path, String[] argv);
    }

    // ---------------------------------------------------------------- making the cache

    /**
     * Spawns {@code ferry cds} for this jar as a background process at low CPU priority (nice 10), unless the
     * cache is ready; the process outlives this one if need be and logs to {@code <cache>/build.log}.
     */
    public void prepareInBackground() {
        if (ready()) {
            return;
        }
        try {
            Files.createDirectories(root);
            List<String> cmd = new ArrayList<>();
            if (new File("/usr/bin/nice").canExecute()) {
                cmd.addAll(List.of("/usr/bin/nice", "-n", "10"));   // yields to serve and its workers, yet finishes on a busy machine
            }
            cmd.addAll(List.of(java(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", jar.toString(), "cds"));
            new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(root.resolve("build.log").toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        } catch (IOException | RuntimeException e) {
            // the next start tries again; this one runs as it is
        }
    }

    /**
     * Makes the cache (extract, training run, marker) unless it is ready or another process is making it;
     * removes caches of other jars or JVMs. Returns true when the cache is ready afterwards.
     */
    public boolean prepare(ProgressLog log) throws IOException, InterruptedException {
        Files.createDirectories(root);
        try (FileChannel lockFile = FileChannel.open(root.resolve("lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
             FileLock lock = lockFile.tryLock()) {
            if (lock == null) {
                log.print("another process is preparing %s", root);
                return false;
            }
            removeStale();
            if (ready()) {
                log.print("class-data sharing archive ready: %s", archive());
                return true;
            }
            Path dir = directory();
            deleteTree(dir);
            Files.createDirectories(dir);
            Path output = dir.resolve("steps.log");
            log.print("extracting %s into %s", jar, dir.resolve("app"));
            run(List.of(java(), "-Djarmode=tools", "-jar", jar.toString(), "extract", "--destination",
                    dir.resolve("app").toString()), output);
            Path trainingData = Files.createTempDirectory("ferry-cds-training-");
            try {
                log.print("training run (the control plane starts once on a throw-away H2 database)");
                // which classes load does not depend on the JIT: C1 alone spends less CPU on the way
                run(List.of(java(), "-XX:ArchiveClassesAtExit=" + archive(), "-XX:TieredStopAtLevel=1",
                        "-Dspring.context.exit=onRefresh",
                        "-jar", extractedJar().toString(), "serve", "--server.port=0",
                        "--server.address=127.0.0.1", "--ferry.data-dir=" + trainingData,
                        "--ferry.workers.launch=external", "--ferry.api.token=training",
                        "--spring.main.banner-mode=off"), output);
            } finally {
                deleteTree(trainingData);
            }
            if (!Files.isRegularFile(archive())) {
                log.print("the training run wrote no archive; see %s", output);
                return false;
            }
            Files.writeString(dir.resolve(COMPLETE), key + "\n");
            log.print("class-data sharing archive ready: %s (%d MiB)", archive(), Files.size(archive()) >> 20);
            return true;
        }
    }

    /** Other keys' folders: made for an earlier jar or another JVM, never used again by this one. */
    private void removeStale() throws IOException {
        try (Stream<Path> entries = Files.list(root)) {
            for (Path entry : entries.toList()) {
                if (Files.isDirectory(entry) && !entry.getFileName().toString().equals(key)) {
                    deleteTree(entry);
                }
            }
        }
    }

    private static void run(List<String> cmd, Path output) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        if (!process.waitFor(10, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", cmd));
        }
        if (process.exitValue() != 0) {
            throw new IOException("exit " + process.exitValue() + " from " + String.join(" ", cmd) + "; see " + output);
        }
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Prints a progress line ({@link String#format} arguments). */
    @FunctionalInterface
    public interface ProgressLog {
        void print(String format, Object... args);
    }
}
