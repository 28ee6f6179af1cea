package io.ferry.worker;

import io.ferry.channel.ErrorReply;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Authenticates one control-channel request and answers it with the command's JSON reply. */
final class ControlChannelHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger log = LoggerFactory.getLogger(ControlChannelHandler.class);

    private final byte[] expectedAuthorization;
    private final ControlCommands commands;
    private final Executor commandThreads;

    ControlChannelHandler(String token, ControlCommands commands, Executor commandThreads) {
        this.expectedAuthorization = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        this.commands = commands;
        this.commandThreads = commandThreads;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        if (!request.decoderResult().isSuccess()) {
            respond(ctx, new ControlCommands.Reply(400, new ErrorReply("malformed HTTP request")), keepAlive);
            return;
        }
        String authorization = request.headers().get(HttpHeaderNames.AUTHORIZATION, "");
        if (!MessageDigest.isEqual(expectedAuthorization, authorization.getBytes(StandardCharsets.UTF_8))) {
            log.warn("control channel: refused {} {} from {}: bad or missing token", request.method(), request.uri(),
                    ctx.channel().remoteAddress());
            respond(ctx, new ControlCommands.Reply(401, new ErrorReply("bad or missing worker token")), false);
            return;
        }
        String method = request.method().name();
        String uri = request.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        String query = q < 0 ? null : uri.substring(q + 1);
        byte[] body = ByteBufUtil.getBytes(request.content());
        try {
            commandThreads.execute(() -> respond(ctx, commands.handle(method, path, query, body), keepAlive));
        } catch (RejectedExecutionException stopping) {
            respond(ctx, new ControlCommands.Reply(503, new ErrorReply("worker is stopping")), false);
        }
    }

    private void respond(ChannelHandlerContext ctx, ControlCommands.Reply reply, boolean keepAlive) {
        byte[] json = reply.body() == null ? new byte[0] : commands.json().writeValueAsBytes(reply.body());
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(reply.status()), Unpooled.wrappedBuffer(json));
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, json.length);
        HttpUtil.setKeepAlive(response, keepAlive);
        ctx.writeAndFlush(response);
        if (!keepAlive) {
            ctx.close();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.warn("control channel connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
