package io.ferry.control.admission;

import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code ferry.admission.*}: the limits a fresh cluster starts with. Values an admin sets
 * through the API are kept in the database and win over these.
 */
@ConfigurationProperties("ferry.admission")
public record AdmissionProperties(@DefaultValue("5") int maxJobs,
                                  @DefaultValue("2") int maxOutboundPerHost,
                                  @DefaultValue("2") int maxInboundPerHost,
                                  Map<String, HostOverride> hosts) {

    public record HostOverride(Integer maxOutbound, Integer maxInbound) {
    }

    public AdmissionProperties {
        hosts = hosts == null ? Map.of() : Map.copyOf(hosts);
    }
}
