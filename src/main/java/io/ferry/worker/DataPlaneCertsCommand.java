package io.ferry.worker;

import io.ferry.migration.transport.CertificateAuthority;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry data-plane-certs}: a throw-away CA and one certificate per worker for data-plane
 * TLS, as files a worker reads with {@code --data-tls-cert/--data-tls-key/--data-tls-ca}: for
 * trying TLS on one machine or a lab. The CA's key is not kept, so nothing more can be issued
 * under it; a cluster uses its own CA (cert-manager, or the control plane's).
 */
@Command(name = "data-plane-certs", mixinStandardHelpOptions = true,
        description = "Make a CA and per-worker certificates for data-plane TLS: DIR/<worker>/{tls.crt,tls.key,ca.crt}.")
public final class DataPlaneCertsCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, description = "Directory to write into")
    Path out;

    @Option(names = "--workers", required = true, split = ",",
            description = "Worker host ids; each gets DIR/<id>/ with its certificate (DNS name <id>, localhost, 127.0.0.1)")
    List<String> workers;

    @Option(names = "--san", split = ",", description = "Extra DNS names or IP addresses for every certificate")
    List<String> extraNames = List.of();

    @Option(names = "--days", defaultValue = "365", description = "Validity in days (default ${DEFAULT-VALUE})")
    int days;

    @Override
    public Integer call() {
        Duration validity = Duration.ofDays(days);
        CertificateAuthority ca = CertificateAuthority.create("ferry-data-plane-ca", validity);
        for (String worker : workers) {
            Path dir = out.resolve(worker);
            ca.issue(worker, validity, extraNames.toArray(String[]::new)).writePem(dir);
            System.out.println(worker + ": " + dir.resolve("tls.crt") + ", " + dir.resolve("tls.key") + ", "
                    + dir.resolve("ca.crt"));
        }
        return 0;
    }
}
