package io.ferry.migration;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Test hook at the steps of a disk hand-off, in the spirit of QEMU's
 * {@code pause-before-switchover}: lets a fault-injection test stop a worker, the control plane
 * or the link at exactly one step. Off unless the worker runs with {@code -Dferry.fault.file};
 * that file is read each time a step is reached, one rule per line:
 *
 * <pre>
 *   &lt;host-id&gt; &lt;step&gt; hold:&lt;ms&gt; | halt | drop
 * </pre>
 *
 * {@code hold} waits, {@code halt} ends the worker process at once (as {@code kill -9}),
 * {@code drop} closes the job's data-plane connection. Each step reached with a rule is first
 * appended, as {@code <host> <step> <job>}, to {@code <file>.reached}, so a test knows when.
 */
public final class FaultInjector {

    private static final Logger log = LoggerFactory.getLogger(FaultInjector.class);

    /** The hand-off steps, in the order a migration reaches them, then post-copy's. */
    public enum Step {
        DESTINATION_OPENED("destination-opened"),
        SOURCE_INACTIVATED("source-inactivated"),
        HANDOFF_RECORDED("handoff-recorded"),
        DESTINATION_ACTIVATED("destination-activated"),
        /** Post-copy: the destination has started the guest (use {@code drop}: it runs on the event loop). */
        POSTCOPY_RUNNING("postcopy-running"),
        /** Post-copy: a recovery connection reached the destination (use {@code drop}, as above). */
        POSTCOPY_RECOVERY("postcopy-recovery");

        private final String label;

        Step(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private static final FaultInjector NONE = new FaultInjector(null, null);

    private final String hostId;
    private final Path rules;

    private FaultInjector(String hostId, Path rules) {
        this.hostId = hostId;
        this.rules = rules;
    }

    public static FaultInjector none() {
        return NONE;
    }

    /** From {@code -Dferry.fault.file}, or {@link #none()}. */
    public static FaultInjector fromSystemProperty(String hostId) {
        String file = System.getProperty("ferry.fault.file");
        if (file == null || file.isBlank()) {
            return NONE;
        }
        log.warn("fault injection enabled from {}", file);
        return new FaultInjector(hostId, Path.of(file));
    }

    /** Applies the rule for this host and step, if any; {@code drop} closes the job's connection. */
    public void reach(Step step, UUID jobId, Runnable drop) {
        if (rules == null || !Files.exists(rules)) {
            return;
        }
        try {
            List<String> lines = Files.readAllLines(rules);
            for (String line : lines) {
                String[] rule = line.strip().split("\\s+");
                if (rule.length != 3 || !rule[0].equals(hostId) || !rule[1].equals(step.label())) {
                    continue;
                }
                log.warn("fault injection: {} at {} for job {}", rule[2], step.label(), jobId);
                Files.writeString(Path.of(rules + ".reached"), hostId + " " + step.label() + " " + jobId + "\n",
                        StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                if (rule[2].startsWith("hold:")) {
                    Thread.sleep(Long.parseLong(rule[2].substring(5)));
                } else if (rule[2].equals("halt")) {
                    Runtime.getRuntime().halt(137);
                } else if (rule[2].equals("drop")) {
                    drop.run();
                }
            }
        } catch (IOException e) {
            log.warn("fault injection: cannot read {}: {}", rules, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
