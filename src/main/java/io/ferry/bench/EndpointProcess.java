package io.ferry.bench;

import io.ferry.launch.FerryCommand;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark's side of one {@link BenchEndpoint}: a child JVM of this same Ferry (the packaged
 * jar or the classes directories this JVM runs from), its stdin and stdout the lines they
 * exchange, its stderr (its log) a file.
 */
final class EndpointProcess implements AutoCloseable {

    /** Put after the last line of stdout. */
    private static final String END = new String("end of output");

    private final String name;
    private final Process process;
    private final Path log;
    private final PrintWriter stdin;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    private EndpointProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.stdin = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // its end, as far as the benchmark is concerned
            } finally {
                lines.add(END);
            }
        }, "bench-" + name);
        reader.setDaemon(true);
        reader.start();
    }

    /** {@code java <jvmOptions> … ferry bench-endpoint <arguments>}, its log in {@code log}. */
    static EndpointProcess start(String name, List<String> jvmOptions, List<String> arguments, Path log)
            throws IOException {
        List<String> command = new ArrayList<>(FerryCommand.of(jvmOptions));
        command.add("bench-endpoint");
        command.addAll(arguments);
        Process process = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        return new EndpointProcess(name, process, log);
    }

    long pid() {
        return process.pid();
    }

    void send(String line) throws IOException {
        stdin.println(line);
        if (stdin.checkError()) {
            throw new IOException(name + " no longer reads its stdin" + logTail());
        }
    }

    /**
     * Waits for the line that starts with {@code word} (other lines are skipped); an {@code error}
     * line, the end of the process or the timeout fail with the end of its log.
     */
    Line expect(String word, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new IOException(name + " said no '" + word + "' within " + timeout.toSeconds() + " s" + logTail());
            }
            if (line == END) {
                process.waitFor(5, TimeUnit.SECONDS);
                throw new IOException(name + " ended" + (process.isAlive() ? "" : " (exit " + process.exitValue() + ")")
                        + " before it said '" + word + "'" + logTail());
            }
            Line parsed = Line.parse(line);
            if (parsed.word(0).equals("error")) {
                throw new IOException(name + ": " + line + logTail());
            }
            if (parsed.word(0).equals(word)) {
                return parsed;
            }
        }
    }

    /** Waits for the process to end by itself (its memory back to the OS); kills it after {@code timeout}. */
    void awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }

    /** Ends stdin (an endpoint ends with it), then waits a little and kills it if it is still there. */
    @Override
    public void close() throws InterruptedException {
        stdin.close();
        awaitExit(Duration.ofSeconds(30));
    }

    private String logTail() {
        try {
            List<String> all = Files.readAllLines(log);
            return "; last lines of its log " + log + ":\n  "
                    + String.join("\n  ", all.subList(Math.max(0, all.size() - 15), all.size()));
        } catch (IOException e) {
            return "; its log: " + log;
        }
    }

    /**
     * One line of an endpoint: its words, and those of the form {@code key=value} as fields;
     * {@code reason=} takes the rest of the line.
     */
    record Line(List<String> words, Map<String, String> fields) {

        static Line parse(String line) {
            List<String> words = new ArrayList<>();
            Map<String, String> fields = new LinkedHashMap<>();
            int reason = line.indexOf(" reason=");
            String head = reason < 0 ? line : line.substring(0, reason);
            if (reason >= 0) {
                fields.put("reason", line.substring(reason + " reason=".length()));
            }
            for (String word : head.strip().split(" +")) {
                words.add(word);
                int eq = word.indexOf('=');
                if (eq > 0) {
                    fields.put(word.substring(0, eq), word.substring(eq + 1));
                }
            }
            return new Line(List.copyOf(words), Map.copyOf(fields));
        }

        String word(int index) {
            if (index >= words.size()) {
                throw new IllegalArgumentException("no word " + index + " in " + words);
            }
            return words.get(index);
        }

        String field(String key) {
            String value = fields.get(key);
            if (value == null) {
                throw new IllegalArgumentException("no " + key + "= in " + words);
            }
            return value;
        }

        long number(String key) {
            return Long.parseLong(field(key));
        }

        double decimal(String key) {
            return Double.parseDouble(field(key));
        }
    }
}
