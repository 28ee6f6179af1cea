package io.ferry.migration;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP forwarder on loopback between a migration's source and its destination, that a test
 * can cut (every live connection closed at once, both ways, as a failing link would) and make
 * refuse new connections (the link stays down).
 */
final class LinkCutter implements AutoCloseable {

    private final ServerSocket server;
    private final String targetHost;
    private final int targetPort;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    /** Each forwarded connection's two sockets, in the order they were accepted. */
    private final java.util.List<Socket[]> pairs = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Each forwarded connection's bytes from the source to the destination, in the same order. */
    private final java.util.List<java.util.concurrent.atomic.AtomicLong> forwarded =
            new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean refusing;
    private volatile int accepted;
    private volatile int attempts;

    LinkCutter(String target) throws IOException {
        int colon = target.lastIndexOf(':');
        targetHost = target.substring(0, colon);
        targetPort = Integer.parseInt(target.substring(colon + 1));
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "link-cutter");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** Connections forwarded so far. */
    int accepted() {
        return accepted;
    }

    /** Connections the source opened so far, refused ones included. */
    int attempts() {
        return attempts;
    }

    /** Closes every live connection, both sides. */
    void cut() {
        for (Socket socket : open) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing is all we want
            }
        }
        open.clear();
    }

    /** Closes the {@code index}-th connection forwarded (0 = the first), both sides: one channel breaks. */
    void cut(int index) {
        for (Socket socket : pairs.get(index)) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing is all we want
            }
        }
    }

    /** Bytes the source sent on the {@code index}-th connection forwarded (0 = the first). */
    long bytesFromSource(int index) {
        return forwarded.get(index).get();
    }

    /** While true, new connections are accepted and closed at once: the link is down. */
    void refuse(boolean refuse) {
        refusing = refuse;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                attempts++;
                if (refusing) {
                    client.close();
                    continue;
                }
                Socket upstream = new Socket(targetHost, targetPort);
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                open.add(client);
                open.add(upstream);
                java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
                forwarded.add(sent);
                pairs.add(new Socket[] {client, upstream});
                accepted++;
                pump(client, upstream, sent);
                pump(upstream, client, new java.util.concurrent.atomic.AtomicLong());
            } catch (IOException e) {
                // server closed, or the destination refused: the source sees the link fail
            }
        }
    }

    private void pump(Socket from, Socket to, java.util.concurrent.atomic.AtomicLong count) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[64 << 10];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    out.write(buffer, 0, n);
                    count.addAndGet(n);
                }
            } catch (IOException e) {
                // cut or closed
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // already closed
                }
                open.remove(from);
                open.remove(to);
            }
        }, "link-cutter-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        server.close();
        cut();
    }
}
