package io.ferry.control.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

/** Issue 12: the control plane's JSON is read as typed, never coerced; and where it listens by default. */
class StrictJsonTest {

    record Body(Long bandwidth, Integer count, Boolean verify, String name, Double fraction, UUID id,
                Map<String, String> labels, List<String> steps) {
    }

    private final JsonMapper json = strict();

    private static JsonMapper strict() {
        JsonMapper.Builder builder = JsonMapper.builder();
        new StrictJson().strictJsonReading().customize(builder);
        return builder.build();
    }

    private Body read(String text) {
        return json.readValue(text, Body.class);
    }

    @Test
    void wellTypedValuesAreRead() {
        UUID id = UUID.randomUUID();
        Body body = read("{\"bandwidth\":131072,\"count\":3,\"verify\":true,\"name\":\"vm\",\"fraction\":0.5,"
                + "\"id\":\"" + id + "\",\"labels\":{\"a\":\"b\"},\"steps\":[\"x\"]}");
        assertThat(body).isEqualTo(new Body(131072L, 3, true, "vm", 0.5, id, Map.of("a", "b"), List.of("x")));
        // an integer where a fraction is expected is a number all the same; upper-case hex is canonical
        assertThat(read("{\"fraction\":1}").fraction()).isEqualTo(1.0);
        assertThat(read("{\"id\":\"" + id.toString().toUpperCase() + "\"}").id()).isEqualTo(id);
        assertThat(read("{\"bandwidth\":null}").bandwidth()).isNull();
    }

    @Test
    void nothingIsCoerced() {
        for (String bad : List.of("{\"bandwidth\":0.5}", "{\"bandwidth\":1.5}", "{\"bandwidth\":16777216.9}",
                "{\"bandwidth\":1.0}", "{\"bandwidth\":1e3}", "{\"bandwidth\":\"131072\"}", "{\"bandwidth\":true}",
                "{\"bandwidth\":\"\"}", "{\"count\":1.5}", "{\"count\":\"1\"}", "{\"count\":99999999999}",
                "{\"bandwidth\":99999999999999999999}", "{\"verify\":1}", "{\"verify\":0}", "{\"verify\":\"true\"}",
                "{\"verify\":\"\"}", "{\"name\":true}", "{\"name\":5}", "{\"name\":1.5}", "{\"fraction\":\"0.5\"}",
                "{\"fraction\":true}", "{\"labels\":{\"a\":1}}", "{\"labels\":{\"a\":true}}", "{\"steps\":[1]}",
                "{\"steps\":\"x\"}")) {
            assertThatThrownBy(() -> read(bad)).as(bad).isInstanceOf(JacksonException.class);
        }
    }

    @Test
    void onlyCanonicalUuidsAndNoDuplicateOrTrailingData() {
        for (String bad : List.of("1-2-3-4-5", "0-0-0-0-0", "AAAAAAAAAAAAAAAAAAAAAA==", "00000000000000000000000000000000",
                "{00000000-0000-0000-0000-000000000000}", "00000000-0000-0000-0000-00000000000g")) {
            assertThatThrownBy(() -> read("{\"id\":\"" + bad + "\"}")).as(bad).isInstanceOf(JacksonException.class);
            assertThatThrownBy(() -> StrictJson.uuid(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(StrictJson.UUID_RULE);
        }
        assertThatThrownBy(() -> read("{\"id\":5}")).isInstanceOf(JacksonException.class);
        assertThatThrownBy(() -> read("{\"name\":\"a\",\"name\":\"b\"}")).isInstanceOf(JacksonException.class);
        assertThatThrownBy(() -> read("{\"name\":\"a\"} {}")).isInstanceOf(JacksonException.class);
    }

    @Test
    void theEmbeddedControlPlaneListensOnLoopbackUnlessToldOtherwise() {
        assertThat(BindAddress.address(null, "local")).isEqualTo(InetAddress.getLoopbackAddress());
        assertThat(BindAddress.address("", "local")).isEqualTo(InetAddress.getLoopbackAddress());
        assertThat(BindAddress.address("0.0.0.0", "local")).as("server.address wins").isNull();
        assertThat(BindAddress.address(null, "external")).as("workers elsewhere: every interface").isNull();
    }
}
