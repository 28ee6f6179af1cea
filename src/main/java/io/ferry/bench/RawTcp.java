package io.ferry.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * The benchmarks' baseline: {@code bytes} through one plain TCP connection, 1 MiB writes and
 * reads from direct buffers; the receiver answers one byte once it has them all, and the sender's
 * clock runs from connect to that answer.
 */
final class RawTcp {

    private static final int BUFFER = 1 << 20;

    private RawTcp() {
    }

    /** Connects to {@code receiver}, sends {@code bytes} and waits for the acknowledgement; returns seconds. */
    static double send(SocketAddress receiver, long bytes) throws IOException {
        long start = System.nanoTime();
        try (SocketChannel out = SocketChannel.open(receiver)) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
            long left = bytes;
            while (left > 0) {
                buffer.clear().limit((int) Math.min(buffer.capacity(), left));
                while (buffer.hasRemaining()) {
                    left -= out.write(buffer);
                }
            }
            ByteBuffer ack = ByteBuffer.allocate(1);
            if (out.read(ack) != 1) {
                throw new IOException("the receiver closed without acknowledging " + bytes + " bytes");
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** Reads {@code bytes} from {@code in} and acknowledges them. */
    static void receive(SocketChannel in, long bytes) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
        long left = bytes;
        while (left > 0) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), left));
            int n = in.read(buffer);
            if (n < 0) {
                throw new IOException("the sender closed with " + left + " bytes still to come");
            }
            left -= n;
        }
        ByteBuffer ack = ByteBuffer.wrap(new byte[] {1});
        while (ack.hasRemaining()) {
            in.write(ack);
        }
    }

    /** Sender and receiver as two threads of this process; returns the sender's seconds. */
    static double inProcess(long bytes) throws IOException, InterruptedException {
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            Thread receiver = new Thread(() -> {
                try (SocketChannel in = server.accept()) {
                    receive(in, bytes);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, "raw-receiver");
            receiver.start();
            double seconds = send(server.getLocalAddress(), bytes);
            receiver.join();
            return seconds;
        }
    }
}
