package io.ferry.migration.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.wire.Handshake;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A peer that opens a data-plane connection and stalls in the middle of a handshake — Ferry's
 * or TLS's — is hung up on once the handshake timeout has passed, not held open for ever. Played
 * with a raw socket against a real {@link DataPlaneServer}.
 */
class HandshakeTimeoutTest {

    private static final Duration TIMEOUT = Duration.ofMillis(800);
    /** A generous bound: the close comes at the timeout, this only stops a hanging test. */
    private static final int READ_LIMIT_MS = 10_000;

    private static EventLoopGroup group;

    @BeforeAll
    static void start() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Expects every job, with a secret nobody in this test knows. */
    private static final IncomingRegistry ANY_JOB = jobId -> null;

    private static DataPlaneServer server(DataPlaneSecurity security) throws InterruptedException {
        return DataPlaneServer.bind(group, group, new InetSocketAddress("127.0.0.1", 0), ANY_JOB, security);
    }

    @Test
    void halfAProofIsClosedAfterTheTimeout() throws Exception {
        try (DataPlaneServer server = server(new DataPlaneSecurity(null, TIMEOUT));
             Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(READ_LIMIT_MS);
            InputStream in = socket.getInputStream();
            byte[] hello = in.readNBytes(Handshake.HELLO_LENGTH);
            assertThat(ByteBuffer.wrap(hello).getInt()).isEqualTo(Handshake.MAGIC);
            long start = System.nanoTime();
            OutputStream out = socket.getOutputStream();
            UUID job = UUID.randomUUID();
            out.write(ByteBuffer.allocate(16).putLong(job.getMostSignificantBits())
                    .putLong(job.getLeastSignificantBits()).array());   // the job id, and no MAC
            out.flush();

            assertClosedAfterTheTimeout(in, start);
        }
    }

    @Test
    void aPeerThatSaysNothingIsClosedAfterTheTimeout() throws Exception {
        try (DataPlaneServer server = server(new DataPlaneSecurity(null, TIMEOUT));
             Socket socket = new Socket("127.0.0.1", server.port())) {
            long start = System.nanoTime();
            socket.setSoTimeout(READ_LIMIT_MS);
            InputStream in = socket.getInputStream();
            in.readNBytes(Handshake.HELLO_LENGTH);
            assertClosedAfterTheTimeout(in, start);
        }
    }

    @Test
    void halfATlsClientHelloIsClosedAfterTheTimeout() throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("timeout-test-ca", Duration.ofDays(1));
        DataPlaneTls tls = ca.issue("worker-b", Duration.ofDays(1)).tls(DataPlaneTls.Provider.AUTO);
        try (DataPlaneServer server = server(new DataPlaneSecurity(tls, TIMEOUT));
             Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(READ_LIMIT_MS);
            InputStream in = socket.getInputStream();
            byte[] announce = in.readNBytes(Handshake.TLS_ANNOUNCE_LENGTH);
            assertThat(ByteBuffer.wrap(announce).getInt()).isEqualTo(Handshake.TLS_MAGIC);
            long start = System.nanoTime();
            OutputStream out = socket.getOutputStream();
            // a TLS record header that promises a 512-byte ClientHello, then its first bytes only
            out.write(new byte[] {22, 3, 1, 2, 0, 1, 0, 1, (byte) 252, 3, 3});
            out.flush();

            assertClosedAfterTheTimeout(in, start);
        }
    }

    @Test
    void theTimeoutDefaultsToFiveSeconds() {
        assertThat(DataPlaneSecurity.plain().handshakeTimeout()).isEqualTo(Duration.ofSeconds(5));
    }

    /** The server closes (EOF, or a reset after an alert) no sooner than the timeout and well before the read limit. */
    private static void assertClosedAfterTheTimeout(InputStream in, long startNanos) throws Exception {
        try {
            while (in.read() >= 0) {
                // a TLS alert may come before the close
            }
        } catch (java.net.SocketException reset) {
            // closed with unread bytes: a reset is a close too
        }
        Duration waited = Duration.ofNanos(System.nanoTime() - startNanos);
        assertThat(waited).isGreaterThanOrEqualTo(TIMEOUT.minusMillis(50));
        assertThat(waited).isLessThan(TIMEOUT.plusSeconds(3));
    }
}
