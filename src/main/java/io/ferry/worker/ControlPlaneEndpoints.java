package io.ferry.worker;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control-plane replicas a worker may talk to: each configured URL, once per address its host
 * name resolves to. A Kubernetes headless Service resolves to every replica's pod, so a worker
 * knows each replica and moves to a live one at once when one dies, instead of retrying a Service
 * address that may still route to the dead pod. A literal address or a name with one address is
 * one endpoint, as configured. Re-resolved when the worker has gone round all of them (pods come
 * and go); a failed resolution keeps what it had.
 */
final class ControlPlaneEndpoints {

    /** Looks up every address of a host name. */
    interface Resolver {
        List<InetAddress> all(String host) throws UnknownHostException;
    }

    private static final Logger log = LoggerFactory.getLogger(ControlPlaneEndpoints.class);

    private final List<URI> configured;
    private final Resolver resolver;
    /** Each configured URL → its endpoints, in the configured order. */
    private volatile Map<URI, List<URI>> byConfigured = Map.of();
    private volatile List<URI> endpoints;

    ControlPlaneEndpoints(List<URI> configured, Resolver resolver) {
        if (configured.isEmpty()) {
            throw new IllegalArgumentException("no control-plane URL");
        }
        this.configured = List.copyOf(configured);
        this.resolver = resolver;
        refresh();
    }

    static ControlPlaneEndpoints resolving(List<URI> configured) {
        return new ControlPlaneEndpoints(configured, host -> List.of(InetAddress.getAllByName(host)));
    }

    List<URI> all() {
        return endpoints;
    }

    /** Resolves the names again; returns whether the endpoints changed. */
    synchronized boolean refresh() {
        Map<URI, List<URI>> next = new LinkedHashMap<>();
        for (URI url : configured) {
            next.put(url, expand(url, byConfigured.get(url)));
        }
        List<URI> flat = next.values().stream().flatMap(List::stream).distinct().toList();
        byConfigured = next;
        if (flat.equals(endpoints)) {
            return false;
        }
        if (endpoints != null) {
            log.info("control-plane endpoints now {}", flat);
        }
        endpoints = flat;
        return true;
    }

    private List<URI> expand(URI url, List<URI> before) {
        String host = url.getHost();
        if (host == null || isLiteral(host)) {
            return List.of(url);
        }
        List<InetAddress> addresses;
        try {
            addresses = resolver.all(host);
        } catch (UnknownHostException e) {
            return before != null ? before : List.of(url);   // a lookup that fails for a moment changes nothing
        }
        // one family, the one the JDK would try first (localhost is 127.0.0.1 and ::1: one endpoint)
        Class<?> family = addresses.isEmpty() ? null : addresses.get(0).getClass();
        List<InetAddress> same = addresses.stream().filter(a -> a.getClass() == family).toList();
        if (same.size() <= 1) {
            return List.of(url);   // as configured: the name (the JDK resolves it per connection)
        }
        List<URI> out = new ArrayList<>();
        for (InetAddress address : same) {
            out.add(withHost(url, address));
        }
        return out;
    }

    private static boolean isLiteral(String host) {
        return host.startsWith("[") || host.chars().allMatch(c -> Character.isDigit(c) || c == '.');
    }

    private static URI withHost(URI url, InetAddress address) {
        String host = address.getHostAddress();
        if (host.contains(":")) {
            host = "[" + host.replaceFirst("%.*$", "") + "]";
        }
        return URI.create(url.getScheme() + "://" + host + (url.getPort() < 0 ? "" : ":" + url.getPort())
                + (url.getRawPath() == null ? "" : url.getRawPath()));
    }
}
