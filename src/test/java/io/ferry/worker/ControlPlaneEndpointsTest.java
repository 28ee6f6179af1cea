package io.ferry.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A worker knows each replica behind a name that resolves to several (a headless Service), and follows changes. */
class ControlPlaneEndpointsTest {

    private final Map<String, List<InetAddress>> dns = new HashMap<>();

    private ControlPlaneEndpoints endpoints(String... urls) {
        return new ControlPlaneEndpoints(java.util.Arrays.stream(urls).map(URI::create).toList(), host -> {
            List<InetAddress> found = dns.get(host);
            if (found == null) {
                throw new UnknownHostException(host);
            }
            return found;
        });
    }

    private static InetAddress ip(String literal) throws UnknownHostException {
        return InetAddress.getByName(literal);
    }

    @Test
    void aNameWithSeveralAddressesIsOneEndpointPerAddressKeepingSchemePortAndPath() throws Exception {
        dns.put("ferry-control-headless.ns.svc", List.of(ip("10.0.0.7"), ip("10.0.0.9")));
        assertThat(endpoints("https://ferry-control-headless.ns.svc:8443/base").all()).containsExactly(
                URI.create("https://10.0.0.7:8443/base"), URI.create("https://10.0.0.9:8443/base"));
    }

    @Test
    void literalsSingleAddressNamesAndUnknownNamesStayAsConfigured() throws Exception {
        dns.put("one.example", List.of(ip("10.0.0.1")));
        dns.put("localhost", List.of(ip("127.0.0.1"), ip("::1")));   // one per family: the first family's
        assertThat(endpoints("http://127.0.0.1:8080", "http://one.example:8080", "http://localhost:8080",
                "http://nowhere.example:8080").all()).containsExactly(URI.create("http://127.0.0.1:8080"),
                URI.create("http://one.example:8080"), URI.create("http://localhost:8080"),
                URI.create("http://nowhere.example:8080"));
    }

    @Test
    void ipv6AddressesAreBracketed() throws Exception {
        dns.put("v6.svc", List.of(ip("fd00::1"), ip("fd00::2")));
        assertThat(endpoints("https://v6.svc:8443").all()).containsExactly(URI.create("https://[fd00:0:0:0:0:0:0:1]:8443"),
                URI.create("https://[fd00:0:0:0:0:0:0:2]:8443"));
    }

    @Test
    void aRefreshFollowsPodsAndAFailedLookupKeepsWhatItHad() throws Exception {
        dns.put("cp.svc", List.of(ip("10.0.0.7"), ip("10.0.0.9")));
        ControlPlaneEndpoints endpoints = endpoints("http://cp.svc:8080", "http://10.1.1.1:8080");
        assertThat(endpoints.refresh()).isFalse();
        dns.put("cp.svc", List.of(ip("10.0.0.9"), ip("10.0.0.12")));   // one replica replaced
        assertThat(endpoints.refresh()).isTrue();
        assertThat(endpoints.all()).containsExactly(URI.create("http://10.0.0.9:8080"), URI.create("http://10.0.0.12:8080"),
                URI.create("http://10.1.1.1:8080"));
        dns.remove("cp.svc");   // the name cannot be resolved for a moment: what it had is kept
        assertThat(endpoints.refresh()).isFalse();
        assertThat(endpoints.all()).containsExactly(URI.create("http://10.0.0.9:8080"), URI.create("http://10.0.0.12:8080"),
                URI.create("http://10.1.1.1:8080"));
    }
}
