package io.ferry.guest.qemu;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A QEMU Machine Protocol client over a unix socket: one JSON object a line each way, commands
 * answered in order, asynchronous events (lines with an {@code "event"} member) skipped. Reads
 * wait on a selector with a deadline, so a QEMU that hangs fails its caller instead of hanging it.
 * Not thread-safe: one caller at a time (QEMU answers commands in order, one connection).
 */
public final class Qmp implements AutoCloseable {

    /** A command answers at once (query-migrate, migrate itself returns before the transfer). */
    private static final Duration REPLY = Duration.ofSeconds(30);

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final SocketChannel channel;
    private final Selector selector;
    private final ByteBuffer in = ByteBuffer.allocate(64 * 1024).flip();
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    /**
     * Set when an answer did not come in time: it may still come, and would be taken for the next
     * command's, so the connection takes no more commands.
     */
    private boolean outOfStep;

    private Qmp(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(false);
        this.selector = Selector.open();
        channel.register(selector, SelectionKey.OP_READ);
    }

    /** QMP's answer {@code {"error": {...}}} to a command. */
    public static final class CommandFailed extends IOException {
        CommandFailed(String command, JsonNode error) {
            super(command + ": " + error.path("class").asString("?") + ": " + error.path("desc").asString("?"));
        }
    }

    /**
     * Connects to {@code socket}, reads the greeting (within {@code greeting}: QEMU sends it from its
     * main loop, after the machine is set up) and leaves capabilities negotiation for command mode.
     */
    public static Qmp connect(Path socket, Duration greeting) throws IOException {
        Qmp qmp = new Qmp(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
        try {
            JsonNode hello = qmp.readObject(System.nanoTime() + greeting.toNanos());
            if (!hello.has("QMP")) {
                throw new IOException("not a QMP greeting: " + hello);
            }
            qmp.execute("qmp_capabilities");
            return qmp;
        } catch (IOException | RuntimeException e) {
            qmp.close();
            throw e;
        }
    }

    public JsonNode execute(String command) throws IOException {
        return execute(command, Map.of());
    }

    /** Sends {@code command} with {@code arguments} and returns its {@code return} member. */
    public JsonNode execute(String command, Map<String, Object> arguments) throws IOException {
        return execute(command, arguments, REPLY);
    }

    /** As {@link #execute(String, Map)}, failing unless QEMU answers {@code within} that time. */
    public JsonNode execute(String command, Map<String, Object> arguments, Duration within) throws IOException {
        if (outOfStep) {
            throw new IOException("QMP connection is out of step since an earlier command was not answered in time");
        }
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("execute", command);
        if (!arguments.isEmpty()) {
            message.put("arguments", arguments);
        }
        write(JSON.writeValueAsString(message) + "\n");
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            JsonNode reply = readObject(deadline);
            if (reply.has("return")) {
                return reply.get("return");
            }
            if (reply.has("error")) {
                throw new CommandFailed(command, reply.get("error"));
            }
            // an event (STOP, RESUME, ...): not the answer
        }
    }

    private void write(String text) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + REPLY.toNanos();
        while (out.hasRemaining()) {
            if (channel.write(out) == 0) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("QMP socket did not take a command within " + REPLY.toSeconds() + " s");
                }
                Thread.onSpinWait();   // a few hundred bytes: a full socket buffer is a moment's state
            }
        }
    }

    private JsonNode readObject(long deadline) throws IOException {
        while (true) {
            while (in.hasRemaining()) {
                byte b = in.get();
                if (b == '\n') {
                    String text = line.toString(StandardCharsets.UTF_8).trim();
                    line.reset();
                    if (!text.isEmpty()) {
                        return JSON.readTree(text);
                    }
                } else {
                    line.write(b);
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || selector.select(Math.max(1, left / 1_000_000)) == 0 && System.nanoTime() >= deadline) {
                outOfStep = true;
                throw new IOException("QEMU did not answer on its QMP socket in time");
            }
            selector.selectedKeys().clear();
            in.clear();
            int n = channel.read(in);
            in.flip();
            if (n < 0) {
                throw new IOException("QEMU closed its QMP socket");
            }
        }
    }

    @Override
    public void close() throws IOException {
        try {
            selector.close();
        } finally {
            channel.close();
        }
    }
}
