package io.ferry.channel.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** A failed connection's log line never carries the bytes a plain-text peer sent. */
class TlsFailuresTest {

    @Test
    void aPlainTextRequestOnATlsPortIsNamedNotPrinted() {
        String request = "GET /v1/guests HTTP/1.1\r\nAuthorization: Bearer s3cret-token\r\n\r\n";
        String hex = ByteBufUtil.hexDump(request.getBytes(StandardCharsets.US_ASCII));
        DecoderException wrapped = new DecoderException(new NotSslRecordException("not an SSL/TLS record: " + hex));

        String described = TlsFailures.describe(wrapped);

        assertThat(described).isEqualTo("not a TLS record: the peer speaks plain text on a TLS port");
        assertThat(described).doesNotContain(hex.substring(0, 16)).doesNotContain("s3cret");
    }

    @Test
    void otherFailuresNameTheirInnermostCause() {
        assertThat(TlsFailures.describe(new DecoderException(new SSLHandshakeException("names [a], not b"))))
                .isEqualTo("SSLHandshakeException: names [a], not b");
    }
}
