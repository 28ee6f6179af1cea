package io.ferry.channel;

/** Body of any non-2xx answer on the control channel. */
public record ErrorReply(String error) {
}
