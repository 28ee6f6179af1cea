package io.ferry.migration.outgoing;

import io.ferry.channel.MigrationProgress;
import io.ferry.guest.RamBlock;
import io.ferry.migration.MigrationFailure;
import io.ferry.migration.RateLimiter;
import io.ferry.migration.TransferMeter;
import io.ferry.migration.transport.OutgoingConnection;
import io.ferry.wire.ReturnPathMessage;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Post-copy's pages on the source, once the destination runs the guest: the pages it asks for
 * go first (on the preempt channel when there is one), the rest are pushed behind them on the main
 * connection, held to max-postcopy-bandwidth, each page once; END and EOF when none is left. After
 * a broken link, QEMU's recovery handshake on the new one: the destination's received-pages
 * bitmaps, what it lacks sent again, RESUME and its ACK. The switch itself, and the pause while
 * the link is down, are {@link OutgoingMigration}'s.
 *
 * <p>The migration thread drives it; return-path messages arrive on the connections' threads
 * ({@link #onReturnPath}) and wake it.
 */
final class PostcopySource {

    private static final Logger log = LoggerFactory.getLogger(PostcopySource.class);
    private static final long SHUT_TIMEOUT_MS = 120_000;
    private static final long RECOVER_ANSWER_TIMEOUT_MS = 10_000;
    /** How long the push parks for a full main socket before it looks again (a wake-up ends it sooner). */
    private static final long WRITABLE_POLL_NANOS = 10_000_000L;
    /** The push hands the main connection its batch at this size, so the socket paces it, not the batch. */
    private static final int PUSH_FLUSH_BYTES = 128 << 10;

    private final Channels channels;
    private final StreamWriter out;
    private final RamPart ram;
    private final DevicePart device;
    /** The background push, held to the job's max-postcopy-bandwidth. */
    private final RateLimiter limiter;
    private final LinkedBlockingQueue<ReturnPathMessage.RequestPages> requests = new LinkedBlockingQueue<>();
    /** The destination's answers during a recovery: its received-pages bitmaps, by block, and RESUME_ACK. */
    private final Map<String, long[]> receivedBitmaps = new ConcurrentHashMap<>();
    private volatile CompletableFuture<Void> bitmapsComplete;
    private volatile CompletableFuture<Void> resumeAcked;
    /** How many RAM blocks a recovery waits bitmaps for; set at the switch, read on the connection's thread. */
    private volatile int blockCount;
    /** The thread running the migration: a page request or a drained socket wakes it ({@link LockSupport#unpark}). */
    private volatile Thread migrationThread;
    /** The fault path on the current preempt channel's thread; null without one. */
    private volatile RequestedPages requestedPages;
    /** Requests the preempt channel's thread served: the migration thread counts them and pushes on from there. */
    private final LinkedBlockingQueue<ReturnPathMessage.RequestPages> servedOnPreempt = new LinkedBlockingQueue<>();
    /** Per block, where the push goes on: after the last page the guest asked for there (locality). */
    private long[] cursor;

    // QEMU's post-copy figures, written by the migration thread only.
    private long requestsServed;
    private long recoveries;
    private long bytesBeforePause;
    private long bytesDuringPause;

    PostcopySource(Channels channels, StreamWriter out, RamPart ram, DevicePart device, long maxBandwidth) {
        this.channels = channels;
        this.out = out;
        this.ram = ram;
        this.device = device;
        this.limiter = new RateLimiter(maxBandwidth);
    }

    /** On the migration thread, once the main connection is open: the preempt channel, when the job may post-copy. */
    void open() throws InterruptedException {
        migrationThread = Thread.currentThread();
        openPreempt();
    }

    /** The switch begins, the guest about to pause: the main connection now carries the destination's requests. */
    void switching() {
        blockCount = ram.blocks().size();
        cursor = new long[blockCount];
        bytesBeforePause = out.transferred();
        listen(channels.main());
    }

    /** RUN is out (or the link broke on the way): the pause's bytes are counted. */
    void switched() {
        bytesDuringPause = out.transferred() - bytesBeforePause;
    }

    void recovered() {
        recoveries++;
    }

    long requestsServed() {
        return requestsServed;
    }

    long recoveries() {
        return recoveries;
    }

    /** QEMU's post-copy figures; null before the switch. */
    MigrationProgress.Postcopy progress(long transferred) {
        return device.switchedToPostcopy() ? new MigrationProgress.Postcopy(requestsServed, bytesBeforePause,
                bytesDuringPause, transferred - bytesBeforePause - bytesDuringPause, recoveries, null) : null;
    }


    /**
     * Requested pages first, the rest pushed behind them (held to max-postcopy-bandwidth), each
     * page once; END and EOF when none is left, then the destination's SHUT.
     */
    void push(boolean afterRecovery) throws InterruptedException {
        if (afterRecovery && ram.remainingPages() == 0) {
            // Every page is there; the destination may even have read the RAM END section before the
            // link broke (a PART after it would be refused): only EOF is missing.
            out.ensureRoom(64);
            StreamEncoder.eof(out.batch());
            out.flush(false);
            awaitEnd();
            return;
        }
        ram.beginPush(out);
        int block = 0;
        long unwritableSince = 0;
        OutgoingConnection main = channels.main();
        while (ram.remainingPages() > 0) {
            if (channels.preempt() != null) {
                channels.preempt().checkOpen();   // a broken preempt channel pauses post-copy like a broken main one
            }
            if (serveRequests()) {
                out.flushWithoutWaiting();   // a requested page does not wait for a full batch
                continue;
            }
            long wait = limiter.nanosUntilAllowed();
            if (wait > 0) {
                out.flushWithoutWaiting();
                ReturnPathMessage.RequestPages next = requests.poll(wait, TimeUnit.NANOSECONDS);
                if (next != null) {
                    requests.add(next);   // served at the top of the loop, in arrival order with the rest
                }
                continue;
            }
            if (!main.isWritable()) {
                // the background push waits for the socket to drain, but a page request wakes it at once
                main.checkOpen();
                if (unwritableSince == 0) {
                    unwritableSince = System.nanoTime();
                } else if (System.nanoTime() - unwritableSince > OutgoingConnection.STALL_TIMEOUT_NANOS) {
                    main.close();
                    throw new MigrationFailure("the link to the destination took no data for "
                            + OutgoingConnection.STALL_TIMEOUT_NANOS / 1_000_000_000 + " s");
                }
                LockSupport.parkNanos(this, WRITABLE_POLL_NANOS);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                continue;
            }
            unwritableSince = 0;
            // background push: a few pages from where the guest last asked, then look at requests again
            boolean found = false;
            for (int tried = 0; tried < blockCount && !found; tried++) {
                int b = (block + tried) % blockCount;
                long page = ram.nextDue(b, cursor[b]);
                if (page >= 0) {
                    block = b;
                    int before = out.batch().readableBytes();
                    ram.sendPages(out, b, page, RamPart.RUN_PAGES, TransferMeter.Kind.RAM);
                    limiter.charge(Math.max(0, out.batch().readableBytes() - before));
                    cursor[b] = page + RamPart.RUN_PAGES;
                    found = true;
                }
            }
            if (!found) {
                break;   // every page has been sent
            }
            if (out.batch().readableBytes() >= PUSH_FLUSH_BYTES) {
                out.flushWithoutWaiting();   // the push is paced by max-postcopy-bandwidth, not by the pre-copy limit
            }
        }
        countServedOnPreempt();
        ram.endPush(out);
        StreamEncoder.eof(out.batch());
        out.flush(false);
        awaitEnd();
    }

    /**
     * QEMU's recovery handshake on a new connection: RECV_BITMAP for each block, the destination's
     * bitmaps of pages it has; what it lacks is sent again (this side's copy of each is final: the
     * guest is paused here). Then POSTCOPY_RESUME and its RESUME_ACK, and RUN again. Returns the
     * pages to send.
     */
    long reconnect() throws InterruptedException {
        receivedBitmaps.clear();
        bitmapsComplete = new CompletableFuture<>();
        resumeAcked = new CompletableFuture<>();
        listen(channels.openMain());
        openPreempt();   // QEMU re-creates the preempt channel with the main one
        out.restart();   // what was batched for the old connection is sent again below, from the bitmaps
        ram.newStream();   // a new stream names the block of its first page again
        for (RamBlock block : ram.blocks()) {
            out.ensureRoom(512);
            StreamEncoder.recvBitmap(out.batch(), block.name());
        }
        out.flush(false);
        awaitAnswer(bitmapsComplete, "the destination's received-pages bitmaps");
        long missing = ram.dueExcept(receivedBitmaps);
        StreamEncoder.postcopyResume(out.batch());
        out.flush(false);
        awaitAnswer(resumeAcked, "the destination's RESUME_ACK");
        device.runAgain(out);
        out.flush(false);
        Arrays.fill(cursor, 0);
        return missing;
    }

    /** Return-path messages of post-copy, on the connection's thread. */
    private void onReturnPath(ReturnPathMessage message) {
        if (message instanceof ReturnPathMessage.RequestPages request) {
            requests.add(request);
            wake();
        } else if (message instanceof ReturnPathMessage.ReceivedBitmap bitmap) {
            receivedBitmaps.put(bitmap.block(), bitmap.words());
            CompletableFuture<Void> all = bitmapsComplete;
            if (all != null && receivedBitmaps.size() == blockCount) {
                all.complete(null);
            }
        } else if (message instanceof ReturnPathMessage.ResumeAck) {
            CompletableFuture<Void> acked = resumeAcked;
            if (acked != null) {
                acked.complete(null);
            }
        } else {
            log.warn("unexpected return-path message during post-copy: {}", message);
        }
    }

    /** The main connection's return path brings requests; a drained socket wakes the push. */
    private void listen(OutgoingConnection main) {
        main.onReturnPath(this::onReturnPath);
        main.shallowBuffers();
        main.onWritable(this::wake);
    }

    private void openPreempt() throws InterruptedException {
        requestedPages = null;
        if (channels.openPreempt(this::onPreemptReturnPath)) {
            requestedPages = new RequestedPages(ram, channels.preempt(), out);
        }
    }

    /**
     * The preempt channel's return path, on its thread: a page request is served right here
     * ({@link RequestedPages}), before the migration thread hears of it.
     */
    private void onPreemptReturnPath(ReturnPathMessage message) {
        RequestedPages fault = requestedPages;
        // the destination asks for pages only once the guest runs there (after RUN): the guest is paused here
        if (message instanceof ReturnPathMessage.RequestPages request && fault != null) {
            fault.serve(request);
            servedOnPreempt.add(request);
            return;
        }
        onReturnPath(message);
    }

    /** The requests the preempt channel's thread served: counted, and the push goes on from the last. */
    private void countServedOnPreempt() {
        ReturnPathMessage.RequestPages request;
        while ((request = servedOnPreempt.poll()) != null) {
            requestsServed++;
            int b = ram.blockIndex(request.block());
            if (b >= 0) {
                cursor[b] = (request.start() + request.length()) / StreamFormat.PAGE_SIZE;   // locality
            }
        }
    }

    /**
     * Sends requested pages still to be sent that came on the main channel's return path (no
     * preempt channel, or it closed); true if any was. Requests the preempt channel's thread
     * served are counted, and the push goes on from there.
     */
    private boolean serveRequests() throws InterruptedException {
        countServedOnPreempt();
        ReturnPathMessage.RequestPages request;
        boolean served = false;
        while ((request = requests.poll()) != null) {
            requestsServed++;
            int b = ram.blockIndex(request.block());
            if (b < 0) {
                continue;
            }
            long first = request.start() / StreamFormat.PAGE_SIZE;
            long count = request.length() / StreamFormat.PAGE_SIZE;
            long pages = ram.blocks().get(b).pageCount();
            for (long p = first; p < first + count && p < pages; p++) {
                if (ram.isDue(b, p)) {
                    ram.sendPages(out, b, p, 1, TransferMeter.Kind.POSTCOPY_REQUESTED);
                    served = true;
                }
            }
            cursor[b] = first + count;   // locality: the background push goes on from here
        }
        return served;
    }

    private void awaitEnd() throws InterruptedException {
        OutgoingConnection main = channels.main();
        int status = main.awaitShut(SHUT_TIMEOUT_MS);
        if (status != 0) {
            throw new MigrationFailure("destination failed at the end of post-copy (return-path SHUT " + status + ")"
                    + (main.destinationReason() == null ? "" : ": " + main.destinationReason()));
        }
    }

    private void awaitAnswer(CompletableFuture<Void> answer, String what) throws InterruptedException {
        long deadline = System.nanoTime() + RECOVER_ANSWER_TIMEOUT_MS * 1_000_000;
        while (!answer.isDone()) {
            channels.main().checkOpen();
            if (System.nanoTime() > deadline) {
                throw new MigrationFailure("timed out after " + RECOVER_ANSWER_TIMEOUT_MS + " ms waiting for " + what);
            }
            try {
                answer.get(50, TimeUnit.MILLISECONDS);
            } catch (TimeoutException notYet) {
                // look at the connection again
            } catch (ExecutionException e) {
                throw new MigrationFailure(what + " failed: " + e.getCause().getMessage());
            }
        }
    }

    /** The migration thread parks while the main socket is full; a request or a drained socket ends that. */
    private void wake() {
        Thread thread = migrationThread;
        if (thread != null) {
            LockSupport.unpark(thread);
        }
    }
}
