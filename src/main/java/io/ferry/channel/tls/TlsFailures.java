package io.ferry.channel.tls;

import io.netty.handler.ssl.NotSslRecordException;

/**
 * What a failed connection may say in a log. Netty's {@link NotSslRecordException} carries the
 * peer's first bytes in hex: from a plain-text client that is its request, tokens and job secrets
 * included, so it is named, never printed.
 */
public final class TlsFailures {

    private TlsFailures() {
    }

    /** The innermost cause, without bytes the peer sent. */
    public static String describe(Throwable failure) {
        Throwable root = failure;
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof NotSslRecordException) {
                return "not a TLS record: the peer speaks plain text on a TLS port";
            }
            root = t;
        }
        return root.getMessage() == null ? root.getClass().getSimpleName()
                : root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
