package io.ferry.worker;

import io.ferry.channel.ControlChannel;
import io.ferry.channel.ErrorReply;
import io.ferry.channel.tls.TlsFailures;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslHandler;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLPeerUnverifiedException;
import java.security.MessageDigest;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates one control-channel request and answers it with the command's JSON reply.
 *
 * <p>One request needs no token: {@code GET /metrics}, the Prometheus text exposition. It is
 * open for the same reason the control plane's {@code /actuator/prometheus} is: scrapers find
 * pods by annotation and carry no per-cluster secret, and what it shows (this host's byte
 * counts, fault latencies, JVM figures) is no secret and changes nothing. Every other path,
 * and every other method on it, still needs the worker token.
 */
final class ControlChannelHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    static final String METRICS = "/metrics";

    private static final Logger log = LoggerFactory.getLogger(ControlChannelHandler.class);

    private final byte[] expectedAuthorization;
    /** Over TLS: a command also needs the control plane's client certificate (the TLS layer checked its chain and name). */
    private final boolean clientCertificateRequired;
    private final ControlCommands commands;
    private final WorkerMetrics metrics;
    private final Executor commandThreads;

    ControlChannelHandler(String token, boolean clientCertificateRequired, ControlCommands commands,
                          WorkerMetrics metrics, Executor commandThreads) {
        this.expectedAuthorization = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        this.clientCertificateRequired = clientCertificateRequired;
        this.commands = commands;
        this.metrics = metrics;
        this.commandThreads = commandThreads;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        if (!request.decoderResult().isSuccess()) {
            respond(ctx, new ControlCommands.Reply(400, new ErrorReply("malformed HTTP request")), keepAlive);
            return;
        }
        String uri = request.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        if (path.equals(METRICS) && request.method().equals(HttpMethod.GET)) {
            scrape(ctx, keepAlive);
            return;
        }
        if (clientCertificateRequired && !presentedClientCertificate(ctx)) {
            log.warn("control channel: refused {} {} from {}: no client certificate", request.method(),
                    loggable(path), ctx.channel().remoteAddress());
            respond(ctx, new ControlCommands.Reply(401, new ErrorReply(
                    "commands need the control plane's client certificate")), false);
            return;
        }
        String authorization = request.headers().get(HttpHeaderNames.AUTHORIZATION, "");
        if (!MessageDigest.isEqual(expectedAuthorization, authorization.getBytes(StandardCharsets.UTF_8))) {
            // the path only: a query string may carry a credential (?token=…) and must not reach the log
            log.warn("control channel: refused {} {} from {}: bad or missing token", request.method(),
                    loggable(path), ctx.channel().remoteAddress());
            respond(ctx, new ControlCommands.Reply(401, new ErrorReply("bad or missing worker token")), false);
            return;
        }
        String method = request.method().name();
        String query = q < 0 ? null : uri.substring(q + 1);
        byte[] body = ByteBufUtil.getBytes(request.content());
        long driverEpoch;
        try {
            driverEpoch = Long.parseLong(request.headers().get(ControlChannel.DRIVER_EPOCH_HEADER, "0"));
        } catch (NumberFormatException e) {
            respond(ctx, new ControlCommands.Reply(400, new ErrorReply(ControlChannel.DRIVER_EPOCH_HEADER
                    + " must be a number")), keepAlive);
            return;
        }
        try {
            commandThreads.execute(() -> respond(ctx, commands.handle(method, path, query, body, driverEpoch),
                    keepAlive));
        } catch (RejectedExecutionException stopping) {
            respond(ctx, new ControlCommands.Reply(503, new ErrorReply("worker is stopping")), false);
        }
    }

    /** A certificate the TLS layer accepted: chained to the CA and naming the control plane. */
    private static boolean presentedClientCertificate(ChannelHandlerContext ctx) {
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        if (tls == null) {
            return false;
        }
        try {
            return tls.engine().getSession().getPeerCertificates().length > 0;
        } catch (SSLPeerUnverifiedException none) {
            return false;
        }
    }

    /** Off the event loop, as commands are: a scrape walks every meter. */
    private void scrape(ChannelHandlerContext ctx, boolean keepAlive) {
        try {
            commandThreads.execute(() -> send(ctx, HttpResponseStatus.OK, WorkerMetrics.CONTENT_TYPE,
                    metrics.scrape().getBytes(StandardCharsets.UTF_8), keepAlive));
        } catch (RejectedExecutionException stopping) {
            respond(ctx, new ControlCommands.Reply(503, new ErrorReply("worker is stopping")), false);
        }
    }

    private void respond(ChannelHandlerContext ctx, ControlCommands.Reply reply, boolean keepAlive) {
        byte[] json = reply.body() == null ? new byte[0] : commands.json().writeValueAsBytes(reply.body());
        send(ctx, HttpResponseStatus.valueOf(reply.status()), HttpHeaderValues.APPLICATION_JSON, json, keepAlive);
    }

    private static void send(ChannelHandlerContext ctx, HttpResponseStatus status, CharSequence contentType,
                             byte[] body, boolean keepAlive) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.wrappedBuffer(body));
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, contentType)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        HttpUtil.setKeepAlive(response, keepAlive);
        ctx.writeAndFlush(response);
        if (!keepAlive) {
            ctx.close();
        }
    }

    /** A path as it may be logged: no query (cut off before), at most 200 printable ASCII characters. */
    static String loggable(String path) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < path.length() && out.length() < 200; i++) {
            char c = path.charAt(i);
            out.append(c > 0x20 && c < 0x7f ? c : '?');
        }
        return path.length() > 200 ? out + "…" : out.toString();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.warn("control channel connection from {} failed: {}", ctx.channel().remoteAddress(),
                TlsFailures.describe(cause));
        ctx.close();
    }
}
