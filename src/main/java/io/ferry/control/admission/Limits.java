package io.ferry.control.admission;

import java.util.Map;

/**
 * Admission limits in force: jobs in the whole cluster, and per host outbound (as source) and
 * inbound (as destination) jobs, with per-host overrides. KubeVirt's defaults: 5 in the cluster,
 * 2 out per node; oVirt's: 2 out, 2 in per host.
 */
public record Limits(int maxJobs, int maxOutboundPerHost, int maxInboundPerHost, Map<String, HostLimits> hosts) {

    /** A host's own limits; null fields use the cluster-wide per-host value. */
    public record HostLimits(Integer maxOutbound, Integer maxInbound) {
    }

    public int outboundOf(String host) {
        HostLimits own = hosts.get(host);
        return own != null && own.maxOutbound() != null ? own.maxOutbound() : maxOutboundPerHost;
    }

    public int inboundOf(String host) {
        HostLimits own = hosts.get(host);
        return own != null && own.maxInbound() != null ? own.maxInbound() : maxInboundPerHost;
    }
}
