package io.ferry.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

import io.ferry.guest.RamBlock;

/**
 * The benchmarks' baseline: {@code bytes} through one plain TCP connection, 1 MiB writes and
 * reads from direct buffers; the receiver answers one byte once it has them all, and the sender's
 * clock runs from connect to that answer.
 *
 * <p>Two forms: from and into one 1 MiB buffer each (cache-hot, the link's own speed), and from a
 * whole guest-sized RAM block into a whole pre-faulted one ({@link #sendBlock}/{@link
 * #receiveBlock}: the same memory traffic a migration has, with nothing of a migration's work).
 */
final class RawTcp {

    private static final int BUFFER = 1 << 20;
    private static final int PAGES_PER_RUN = BUFFER / RamBlock.PAGE_SIZE;

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
            awaitAck(out, bytes);
        }
        return (System.nanoTime() - start) / 1e9;
    }

    private static void awaitAck(SocketChannel out, long bytes) throws IOException {
        ByteBuffer ack = ByteBuffer.allocate(1);
        if (out.read(ack) != 1) {
            throw new IOException("the receiver closed without acknowledging " + bytes + " bytes");
        }
    }

    private static void acknowledge(SocketChannel in) throws IOException {
        ByteBuffer ack = ByteBuffer.wrap(new byte[] {1});
        while (ack.hasRemaining()) {
            in.write(ack);
        }
    }

    /** {@link #send}, from {@code block}'s memory in 1 MiB runs of pages, front to back. */
    static double sendBlock(SocketAddress receiver, RamBlock block) throws IOException {
        long start = System.nanoTime();
        try (SocketChannel out = SocketChannel.open(receiver)) {
            for (long page = 0; page < block.pageCount(); page += PAGES_PER_RUN) {
                ByteBuffer run = block.view(page, (int) Math.min(PAGES_PER_RUN, block.pageCount() - page)).nioBuffer();
                while (run.hasRemaining()) {
                    out.write(run);
                }
            }
            awaitAck(out, block.sizeBytes());
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** {@link #receive}, straight into {@code block}'s memory at the offsets the bytes came from. */
    static void receiveBlock(SocketChannel in, RamBlock block) throws IOException {
        for (long page = 0; page < block.pageCount(); page += PAGES_PER_RUN) {
            ByteBuffer run = block.view(page, (int) Math.min(PAGES_PER_RUN, block.pageCount() - page)).nioBuffer();
            while (run.hasRemaining()) {
                if (in.read(run) < 0) {
                    throw new IOException("the sender closed at page " + page + " of " + block.pageCount());
                }
            }
        }
        acknowledge(in);
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
        acknowledge(in);
    }

    /**
     * Post-copy's baseline: {@code count} round trips of a 32-byte request answered by one 4 KiB
     * page over one plain loopback connection (two threads of this process, blocking sockets,
     * TCP_NODELAY), each in nanoseconds, sorted. With {@code besideBulk}, a second connection
     * carries a bulk stream as fast as it goes meanwhile, as the background push does.
     */
    static long[] pageRoundTrips(int count, boolean besideBulk) throws IOException, InterruptedException {
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            Thread answerer = new Thread(() -> {
                try (SocketChannel in = server.accept()) {
                    in.socket().setTcpNoDelay(true);
                    ByteBuffer request = ByteBuffer.allocateDirect(32);
                    ByteBuffer page = ByteBuffer.allocateDirect(4096);
                    while (true) {
                        request.clear();
                        while (request.hasRemaining()) {
                            if (in.read(request) < 0) {
                                return;
                            }
                        }
                        page.clear();
                        while (page.hasRemaining()) {
                            in.write(page);
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, "raw-page-answerer");
            answerer.start();
            Thread bulk = null;
            ServerSocketChannel bulkServer = null;
            if (besideBulk) {
                bulkServer = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
                ServerSocketChannel listening = bulkServer;
                Thread sink = new Thread(() -> {
                    try (SocketChannel in = listening.accept()) {
                        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
                        while (in.read(buffer.clear()) >= 0) {
                            // drain
                        }
                    } catch (IOException ignored) {
                        // the bulk sender closed
                    }
                }, "raw-bulk-sink");
                sink.start();
                SocketAddress to = bulkServer.getLocalAddress();
                bulk = new Thread(() -> {
                    try (SocketChannel out = SocketChannel.open(to)) {
                        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
                        while (!done.get()) {
                            buffer.clear();
                            while (buffer.hasRemaining() && !done.get()) {
                                out.write(buffer);
                            }
                        }
                    } catch (IOException ignored) {
                        // the sink closed
                    }
                }, "raw-bulk-source");
                bulk.start();
                Thread.sleep(200);   // the stream is running
            }
            long[] nanos = new long[count];
            try (SocketChannel out = SocketChannel.open(server.getLocalAddress())) {
                out.socket().setTcpNoDelay(true);
                ByteBuffer request = ByteBuffer.allocateDirect(32);
                ByteBuffer page = ByteBuffer.allocateDirect(4096);
                for (int i = 0; i < count; i++) {
                    long start = System.nanoTime();
                    request.clear();
                    while (request.hasRemaining()) {
                        out.write(request);
                    }
                    page.clear();
                    while (page.hasRemaining()) {
                        if (out.read(page) < 0) {
                            throw new IOException("the answerer closed");
                        }
                    }
                    nanos[i] = System.nanoTime() - start;
                    if (besideBulk) {
                        Thread.sleep(0, 200_000);   // faults come one at a time, not back to back
                    }
                }
            } finally {
                done.set(true);
                if (bulk != null) {
                    bulk.join();
                    bulkServer.close();
                }
                answerer.join();
            }
            java.util.Arrays.sort(nanos);
            return nanos;
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
