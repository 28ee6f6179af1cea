package io.ferry.snapshot;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A blocking QMP client for tests: one JSON object a line each way, events skipped. Reads block;
 * the test's own timeout bounds a QEMU that hangs.
 */
final class QmpSocket implements AutoCloseable {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final SocketChannel channel;
    private final BufferedReader in;

    private QmpSocket(SocketChannel channel) {
        this.channel = channel;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
    }

    /** Connects once QEMU has made the socket (within 20 s), reads the greeting, enters command mode. */
    static QmpSocket connect(Path socket, Process qemu) throws IOException, InterruptedException {
        for (int i = 0; i < 200 && !Files.exists(socket); i++) {
            if (!qemu.isAlive()) {
                throw new IOException("QEMU exited with " + qemu.exitValue() + " before its QMP socket appeared");
            }
            Thread.sleep(100);
        }
        QmpSocket qmp = new QmpSocket(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
        if (!qmp.read().has("QMP")) {
            throw new IOException("not a QMP greeting");
        }
        qmp.execute("qmp_capabilities", Map.of());
        return qmp;
    }

    /** The command's {@code return}; its {@code error} as an IOException. */
    JsonNode execute(String command, Map<String, Object> arguments) throws IOException {
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("execute", command);
        if (!arguments.isEmpty()) {
            message.put("arguments", arguments);
        }
        ByteBuffer out = ByteBuffer.wrap((JSON.writeValueAsString(message) + "\n").getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) {
            channel.write(out);
        }
        while (true) {
            JsonNode reply = read();
            if (reply.has("return")) {
                return reply.get("return");
            }
            if (reply.has("error")) {
                throw new IOException(command + ": " + reply.get("error"));
            }
        }
    }

    /** An HMP command through QMP; its text output. */
    String human(String commandLine) throws IOException {
        return execute("human-monitor-command", Map.of("command-line", commandLine)).asString();
    }

    private JsonNode read() throws IOException {
        String line = in.readLine();
        if (line == null) {
            throw new IOException("QMP socket closed");
        }
        return JSON.readTree(line);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
