package io.ferry.control.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class WebhookTargetTest {

    @ParameterizedTest
    @ValueSource(strings = {"http://127.0.0.1:8080/hook", "https://orchestrator.example/ferry?x=1", "HTTPS://A.EXAMPLE"})
    void acceptsAbsoluteHttpAndHttpsUrls(String url) {
        assertThat(WebhookTarget.parse(url).toString()).isEqualTo(url);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
            "/relative/path|must be an absolute URL",
            "example.com/hook|must be an absolute URL",
            "ftp://example.com/hook|must use http or https, not 'ftp'",
            "file:///etc/passwd|must use http or https",
            "https://user:pw@example.com/hook|must not contain credentials",
            "https://token@example.com/hook|must not contain credentials",
            "http:///no-host|must name a host",
            "http:opaque|must name a host",
            "https://example.com/hook#part|must not have a fragment",
            "https://exa mple.com/|is not a valid URL",
            "'   '|must not be blank"})
    void refusesWhatCannotOrMustNotBeCalled(String url, String reason) {
        assertThatThrownBy(() -> WebhookTarget.parse(url)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(reason);
    }
}
