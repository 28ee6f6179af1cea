package io.ferry.control.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WebhookSignerTest {

    private static final String SECRET = "It's a Secret to Everybody";
    private static final String BODY = "{\"id\":7,\"type\":\"job\"}";

    @Test
    void signsTheTimestampADotAndTheBodyWithHmacSha256() {
        // Expected value computed independently:
        //   printf '%s' '1700000000.{"id":7,"type":"job"}' | openssl dgst -sha256 -hmac "It's a Secret to Everybody"
        assertThat(WebhookSigner.sign(SECRET, 1_700_000_000L, BODY))
                .isEqualTo("sha256=" + "e520b4a04c8c09783a0ecb03e0566ac5f0fd7f97d70a6a61b92259e4153fa4f4");
    }

    @Test
    void aSignatureVerifiesOnlyWithTheSameSecretTimestampAndBody() {
        String signature = WebhookSigner.sign(SECRET, 1_700_000_000L, BODY);
        assertThat(WebhookSigner.verify(SECRET, 1_700_000_000L, BODY, signature)).isTrue();
        assertThat(WebhookSigner.verify(SECRET + "!", 1_700_000_000L, BODY, signature)).isFalse();
        assertThat(WebhookSigner.verify(SECRET, 1_700_000_001L, BODY, signature)).isFalse();
        assertThat(WebhookSigner.verify(SECRET, 1_700_000_000L, BODY + " ", signature)).isFalse();
    }

    @Test
    void aMalformedSignatureNeverVerifies() {
        assertThat(WebhookSigner.verify(SECRET, 1L, BODY, null)).isFalse();
        assertThat(WebhookSigner.verify(SECRET, 1L, BODY, "sha1=abcd")).isFalse();
        assertThat(WebhookSigner.verify(SECRET, 1L, BODY, "sha256=not-hex")).isFalse();
        assertThat(WebhookSigner.verify(SECRET, 1L, BODY, "sha256=")).isFalse();
    }

    @Test
    void theSignatureIsLowerCaseHexOfThirtyTwoBytes() {
        assertThat(WebhookSigner.sign("k", 0, "")).matches("sha256=[0-9a-f]{64}");
    }
}
