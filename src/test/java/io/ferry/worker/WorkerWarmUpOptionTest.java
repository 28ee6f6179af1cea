package io.ferry.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The worker's warm-up option: a size in MiB, 0 to skip it, anything else refused by name. */
class WorkerWarmUpOptionTest {

    private static WorkerCommand parse(String... extra) {
        WorkerCommand command = new WorkerCommand();
        String[] base = {"--host-id", "host-a", "--control-plane-url", "http://127.0.0.1:8080", "--datastore",
                "/tmp/ferry-options-test"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        new CommandLine(command).parseArgs(args);
        return command;
    }

    @Test
    void theSizeIsInMebibytesAndZeroSkipsIt() {
        assertThat(parse("--warm-up-mib", "32").warmUpBytes()).isEqualTo(32L << 20);
        assertThat(parse("--warm-up-mib", "0").warmUpBytes()).isZero();
    }

    @Test
    void aNegativeTinyOrHugeSizeIsRefusedByName() {
        assertThatThrownBy(() -> parse("--warm-up-mib", "-1").warmUpBytes())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--warm-up-mib")
                .hasMessageContaining("not -1");
        assertThatThrownBy(() -> parse("--warm-up-mib", "4096").warmUpBytes())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("between 16 and 1024");
        assertThatThrownBy(() -> parse("--warm-up-mib", "8").warmUpBytes())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not 8");
    }
}
