package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.ferry.channel.ControlChannel;
import io.ferry.migration.transport.CertificateAuthority;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * {@code ferry serve} with every channel under TLS, as the Helm chart runs it: the API over
 * HTTPS, workers reporting to it over HTTPS, commands to workers over mutual TLS, migrations over
 * mutual TLS. A move between its local workers completes byte-exact; a worker's command port
 * speaks no plain HTTP, obeys no client without a certificate (whatever the token) and no
 * certificate of another worker, and still lets anyone read its metrics.
 */
class ControlChannelTlsEndToEndTest {

    private static final String TOKEN = "control-tls-test-token";
    private static final String WORKER_TOKEN = "control-tls-worker-token";

    private Process serve;
    private final Path dataDir = ApiTestSupport.newDataDir("control-channel-tls");

    @AfterEach
    void stop() throws Exception {
        FerryProcess.stop(serve, dataDir);
    }

    @Test
    void everyChannelRunsTlsAndAWorkerObeysOnlyTheControlPlanesCertificate() throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("e2e-control-ca", Duration.ofDays(1));
        CertificateAuthority.Issued controlPlane = ca.issue("ferry-control-plane", Duration.ofDays(1));
        CertificateAuthority.Issued worker = ca.issue("ferry-worker", Duration.ofDays(1));
        Path cp = dataDir.resolve("certs/control-plane");
        Path wk = dataDir.resolve("certs/worker");
        controlPlane.writePem(cp);
        worker.writePem(wk);

        int port = FerryProcess.freePort();
        Map<String, String> env = new HashMap<>();
        env.put("FERRY_CONTROL_TLS_CERT", wk.resolve("tls.crt").toString());
        env.put("FERRY_CONTROL_TLS_KEY", wk.resolve("tls.key").toString());
        env.put("FERRY_CONTROL_TLS_CA", wk.resolve("ca.crt").toString());
        env.put("FERRY_DATA_TLS_CERT", wk.resolve("tls.crt").toString());
        env.put("FERRY_DATA_TLS_KEY", wk.resolve("tls.key").toString());
        env.put("FERRY_DATA_TLS_CA", wk.resolve("ca.crt").toString());
        // the control plane's side exactly as the Helm chart sets it: environment variables
        env.put("SERVER_SSL_BUNDLE", "controlchannel");
        env.put("SPRING_SSL_BUNDLE_PEM_CONTROLCHANNEL_KEYSTORE_CERTIFICATE", "file:" + cp.resolve("tls.crt"));
        env.put("SPRING_SSL_BUNDLE_PEM_CONTROLCHANNEL_KEYSTORE_PRIVATEKEY", "file:" + cp.resolve("tls.key"));
        env.put("SPRING_SSL_BUNDLE_PEM_CONTROLCHANNEL_RELOADONUPDATE", "true");
        env.put("FERRY_CONTROLCHANNEL_TLS_CERTIFICATE", cp.resolve("tls.crt").toString());
        env.put("FERRY_CONTROLCHANNEL_TLS_PRIVATEKEY", cp.resolve("tls.key").toString());
        env.put("FERRY_CONTROLCHANNEL_TLS_CA", cp.resolve("ca.crt").toString());
        env.put("FERRY_CONTROLCHANNEL_TLS_WORKERNAMES", "ferry-worker");
        env.put("FERRY_CONTROLCHANNEL_TLS_RELOADINTERVAL", "30000ms");
        serve = FerryProcess.serve(dataDir, port, env,
                "--ferry.api.token=" + TOKEN, "--ferry.worker.token=" + WORKER_TOKEN,
                "--ferry.workers.local.memory-capacity=" + (1L << 30));

        ApiClient api = new ApiClient("https://127.0.0.1:" + port, TOKEN, tls(null, ca.certificate()));
        // the workers registered and beat over HTTPS, and answered the control plane's mutual TLS
        JsonNode hosts = await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250))
                .ignoreExceptions().until(() -> api.get("/api/v1/hosts").json(),
                        h -> h.findValuesAsString("state").equals(java.util.List.of("reachable", "reachable")));

        String guestId = api.post("/api/v1/guests", Map.of("name", "all-tls", "hostId", "host-a",
                "memoryBytes", 32L << 20, "workload", Map.of("dirtyPagesPerSecond", 2000, "seed", 5)))
                .json().get("id").asString();
        String jobId = api.post("/api/v1/migrations", Map.of("guestId", guestId, "destinationHostId", "host-b",
                "parameters", Map.of("verifyChecksums", true))).json().get("id").asString();
        JsonNode job = await().atMost(Duration.ofSeconds(60)).until(
                () -> api.get("/api/v1/migrations/" + jobId).json(),
                j -> j.get("status").asString().equals("completed") || j.get("status").asString().equals("failed"));
        assertThat(job.get("status").asString()).as(job.toString()).isEqualTo("completed");
        assertThat(job.get("progress").get("dataPlane").get("tls").asBoolean()).isTrue();
        JsonNode verification = await().atMost(Duration.ofSeconds(10)).until(() -> api.get("/api/v1/migrations/"
                + jobId).json().get("progress").get("verification"), v -> !v.get("destinationMemory").isNull());
        assertThat(verification.get("destinationMemory").asString())
                .isEqualTo(verification.get("sourceMemory").asString());

        String workerPort = hosts.findValuesAsString("controlAddress").get(1);
        String command = ControlChannel.MIGRATIONS + "/" + jobId;

        // no plain HTTP on the command port
        assertThatThrownBy(() -> send(HttpClient.newHttpClient(), "http://" + workerPort + "/metrics"))
                .isInstanceOf(IOException.class);
        // without a certificate: metrics yes, commands no, even with the right token
        HttpClient anonymous = client(tls(null, ca.certificate()));
        assertThat(send(anonymous, "https://" + workerPort + "/metrics").statusCode()).isEqualTo(200);
        HttpResponse<String> refused = send(anonymous, "https://" + workerPort + command);
        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(refused.body()).contains("client certificate");
        // another worker's certificate, from the same CA, is not the control plane's
        HttpClient impostor = client(tls(worker, ca.certificate()));
        assertThatThrownBy(() -> send(impostor, "https://" + workerPort + command)).isInstanceOf(IOException.class);
        // the control plane's certificate is obeyed
        HttpClient asControlPlane = client(tls(controlPlane, ca.certificate()));
        HttpResponse<String> answered = send(asControlPlane, "https://" + workerPort + command);
        assertThat(answered.statusCode()).as(answered.body()).isEqualTo(200);
        assertThat(answered.body()).contains(jobId);
        // the refused plain request carried the token: no worker log holds it, in text or in hex
        String hexToken = io.netty.buffer.ByteBufUtil.hexDump(WORKER_TOKEN.getBytes(StandardCharsets.US_ASCII));
        for (String host : java.util.List.of("host-a", "host-b")) {
            String log = Files.readString(dataDir.resolve("workers").resolve(host + ".log"));
            assertThat(log).doesNotContain(WORKER_TOKEN).doesNotContain(hexToken);
        }
        assertThat(Files.readString(dataDir.resolve("workers/host-a.log")) + Files.readString(
                dataDir.resolve("workers/host-b.log"))).contains("the peer speaks plain text on a TLS port");
    }

    private static HttpResponse<String> send(HttpClient client, String url) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + WORKER_TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpClient client(SSLContext tls) {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).sslContext(tls).build();
    }

    /** Trusts {@code ca}; presents {@code identity} when given. */
    private static SSLContext tls(CertificateAuthority.Issued identity, X509Certificate ca) throws Exception {
        char[] password = new char[0];
        KeyStore trustStore = KeyStore.getInstance("PKCS12");
        trustStore.load(null, null);
        trustStore.setCertificateEntry("ca", ca);
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trustStore);
        KeyManagerFactory keys = null;
        if (identity != null) {
            KeyStore keyStore = KeyStore.getInstance("PKCS12");
            keyStore.load(null, null);
            keyStore.setKeyEntry("me", identity.key(), password, new X509Certificate[] {identity.certificate()});
            keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(keyStore, password);
        }
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(keys == null ? null : keys.getKeyManagers(), trust.getTrustManagers(), null);
        return context;
    }
}
