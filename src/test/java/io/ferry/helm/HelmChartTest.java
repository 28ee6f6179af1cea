package io.ferry.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.ferry.channel.tls.TlsMaterial;
import io.ferry.migration.transport.DataPlaneTls;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Lints and renders the Helm chart in {@code helm/ferry} through helm-java (the Helm Go library
 * over JNI) and asserts the rendered Kubernetes objects.
 */
class HelmChartTest {

    private static final Path CHART = Path.of("helm", "ferry").toAbsolutePath();
    private static final String RELEASE = "demo";
    private static final String NAMESPACE = "ferry-system";
    private static final String FULLNAME = "demo-ferry";

    /** Values every install must supply. */
    private static Map<String, Object> requiredValues() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("auth.apiToken", "api-secret-token");
        values.put("auth.workerToken", "worker-secret-token");
        values.put("postgresql.password", "db-password");
        return values;
    }

    // ---------------------------------------------------------------- lint

    @Test
    void lintReportsNoErrors() {
        assertThat(Files.isRegularFile(CHART.resolve("Chart.yaml"))).isTrue();
        LintResult result = new Helm(CHART).lint().call();
        assertThat(result.isFailed()).as("lint failed: %s", result.getMessages()).isFalse();
        assertThat(result.getMessages()).noneMatch(m -> m.contains("[ERROR]"));
    }

    @Test
    void strictLintReportsNoErrorsOrWarnings() {
        LintResult result = new Helm(CHART).lint().strict().call();
        assertThat(result.isFailed()).as("strict lint failed: %s", result.getMessages()).isFalse();
        assertThat(result.getMessages()).noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]"));
    }

    // ---------------------------------------------------------------- defaults

    @Test
    void rendersExactlyTheExpectedObjects() {
        List<Map<String, Object>> objects = render(Map.of());
        assertThat(objects)
                .extracting(o -> o.get("kind") + "/" + str(o, "metadata.name"))
                .containsExactlyInAnyOrder(
                        "ConfigMap/demo-ferry-config",
                        "Secret/demo-ferry-secret",
                        "Service/demo-ferry",
                        "Service/demo-ferry-replicas",
                        "Deployment/demo-ferry-control-plane",
                        "DaemonSet/demo-ferry-worker",
                        "PodDisruptionBudget/demo-ferry-control-plane",
                        "ConfigMap/demo-ferry-dashboard",
                        "Secret/demo-ferry-data-plane-tls",
                        "Secret/demo-ferry-control-plane-tls",
                        "Secret/demo-ferry-worker-control-tls",
                        "NetworkPolicy/demo-ferry-worker");
        assertThat(objects).allSatisfy(o -> assertThat(str(o, "metadata.namespace")).isEqualTo(NAMESPACE));
    }

    @Test
    void everyObjectCarriesTheStandardLabels() {
        for (Map<String, Object> o : render(Map.of())) {
            Map<String, Object> labels = map(o, "metadata.labels");
            assertThat(labels)
                    .as("%s labels", o.get("kind"))
                    .containsEntry("app.kubernetes.io/name", "ferry")
                    .containsEntry("app.kubernetes.io/instance", RELEASE)
                    .containsEntry("app.kubernetes.io/version", "0.1.0")
                    .containsEntry("app.kubernetes.io/managed-by", "Helm")
                    .containsEntry("helm.sh/chart", "ferry-0.1.0");
        }
        List<Map<String, Object>> objects = render(Map.of());
        assertThat(map(find(objects, "Deployment"), "metadata.labels"))
                .containsEntry("app.kubernetes.io/component", "control-plane");
        assertThat(map(find(objects, "DaemonSet"), "metadata.labels"))
                .containsEntry("app.kubernetes.io/component", "worker");
    }

    @Test
    void controlPlaneDeploymentDefaults() {
        Map<String, Object> deployment = find(render(Map.of()), "Deployment");
        assertThat(deployment.get("apiVersion")).isEqualTo("apps/v1");
        assertThat(get(deployment, "spec.replicas")).isEqualTo(2);
        assertThat(map(deployment, "spec.selector.matchLabels"))
                .isEqualTo(Map.of(
                        "app.kubernetes.io/name", "ferry",
                        "app.kubernetes.io/instance", RELEASE,
                        "app.kubernetes.io/component", "control-plane"));
        assertThat(map(deployment, "spec.template.metadata.labels"))
                .containsAllEntriesOf(map(deployment, "spec.selector.matchLabels"));

        Map<String, Object> annotations = map(deployment, "spec.template.metadata.annotations");
        assertThat(annotations)
                .containsEntry("prometheus.io/scrape", "true")
                .containsEntry("prometheus.io/path", "/actuator/prometheus")
                .containsEntry("prometheus.io/port", "8080")
                .containsEntry("prometheus.io/scheme", "https")
                .containsKeys("checksum/config", "checksum/secret");

        Map<String, Object> podSpec = map(deployment, "spec.template.spec");
        assertThat(podSpec).doesNotContainKey("hostNetwork");
        Map<String, Object> container = onlyContainer(podSpec);
        assertThat(container.get("name")).isEqualTo("control-plane");
        assertThat(container.get("image")).isEqualTo("ferry:0.1.0");
        assertThat(container.get("imagePullPolicy")).isEqualTo("IfNotPresent");
        assertThat(container.get("command")).isEqualTo(List.of("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-jar", "/app/ferry.jar", "serve"));
        assertThat(list(container, "ports"))
                .containsExactly(Map.of("name", "http", "containerPort", 8080, "protocol", "TCP"));

        assertThat(str(container, "livenessProbe.httpGet.path")).isEqualTo("/actuator/health/liveness");
        assertThat(str(container, "livenessProbe.httpGet.port")).isEqualTo("http");
        assertThat(str(container, "livenessProbe.httpGet.scheme")).isEqualTo("HTTPS");
        assertThat(str(container, "readinessProbe.httpGet.path")).isEqualTo("/actuator/health/readiness");
        assertThat(str(container, "readinessProbe.httpGet.port")).isEqualTo("http");
        assertThat(str(container, "readinessProbe.httpGet.scheme")).isEqualTo("HTTPS");
        assertThat(container).doesNotContainKey("startupProbe");

        assertThat(str(container, "resources.requests.cpu")).isEqualTo("500m");
        assertThat(str(container, "resources.requests.memory")).isEqualTo("1Gi");
        assertThat(str(container, "resources.limits.memory")).isEqualTo("2Gi");
    }

    @Test
    void controlPlaneEnvironmentIsWiredToConfigMapAndSecret() {
        Map<String, Object> container = onlyContainer(map(find(render(Map.of()), "Deployment"), "spec.template.spec"));
        Map<String, Map<String, Object>> env = env(container);
        assertThat(env.keySet())
                .containsExactly(
                        "SPRING_PROFILES_ACTIVE",
                        "SPRING_DATASOURCE_URL",
                        "SPRING_DATASOURCE_USERNAME",
                        "SPRING_DATASOURCE_PASSWORD",
                        "FERRY_API_TOKEN",
                        "FERRY_WORKER_TOKEN",
                        "FERRY_WORKERS_LAUNCH",
                        "FERRY_ADMISSION_MAXJOBS",
                        "FERRY_ADMISSION_MAXOUTBOUNDPERHOST",
                        "FERRY_ADMISSION_MAXINBOUNDPERHOST",
                        "SERVER_SSL_BUNDLE",
                        "SPRING_SSL_BUNDLE_PEM_CONTROLCHANNEL_KEYSTORE_CERTIFICATE",
                        "SPRING_SSL_BUNDLE_PEM_CONTROLCHANNEL_KEYSTORE_PRIVATEKEY",
                        "SPRING_SSL_BUNDLE_PEM_CONTROLCHANNEL_RELOADONUPDATE",
                        "FERRY_CONTROLCHANNEL_TLS_CERTIFICATE",
                        "FERRY_CONTROLCHANNEL_TLS_PRIVATEKEY",
                        "FERRY_CONTROLCHANNEL_TLS_CA",
                        "FERRY_CONTROLCHANNEL_TLS_WORKERNAMES",
                        "FERRY_CONTROLCHANNEL_TLS_RELOADINTERVAL");
        assertThat(env.get("FERRY_ADMISSION_MAXJOBS")).containsEntry("value", "5");
        assertThat(env.get("FERRY_ADMISSION_MAXOUTBOUNDPERHOST")).containsEntry("value", "2");
        assertThat(env.get("FERRY_ADMISSION_MAXINBOUNDPERHOST")).containsEntry("value", "2");
        assertThat(env.get("SPRING_PROFILES_ACTIVE")).containsEntry("value", "postgres");
        assertThat(env.get("FERRY_WORKERS_LAUNCH")).containsEntry("value", "external");
        assertThat(map(env.get("SPRING_DATASOURCE_URL"), "valueFrom.configMapKeyRef"))
                .isEqualTo(Map.of("name", "demo-ferry-config", "key", "database-url"));
        assertThat(map(env.get("SPRING_DATASOURCE_USERNAME"), "valueFrom.secretKeyRef"))
                .isEqualTo(Map.of("name", "demo-ferry-secret", "key", "database-username"));
        assertThat(map(env.get("SPRING_DATASOURCE_PASSWORD"), "valueFrom.secretKeyRef"))
                .isEqualTo(Map.of("name", "demo-ferry-secret", "key", "database-password"));
        assertThat(map(env.get("FERRY_API_TOKEN"), "valueFrom.secretKeyRef"))
                .isEqualTo(Map.of("name", "demo-ferry-secret", "key", "api-token"));
        assertThat(map(env.get("FERRY_WORKER_TOKEN"), "valueFrom.secretKeyRef"))
                .isEqualTo(Map.of("name", "demo-ferry-secret", "key", "worker-token"));
    }

    @Test
    void serviceSelectsOnlyControlPlanePods() {
        List<Map<String, Object>> objects = render(Map.of());
        Map<String, Object> service = named(objects, "Service", "demo-ferry");
        assertThat(str(service, "spec.type")).isEqualTo("ClusterIP");
        // the headless one names every ready control-plane pod, for the workers
        Map<String, Object> replicas = named(objects, "Service", "demo-ferry-replicas");
        assertThat(str(replicas, "spec.clusterIP")).isEqualTo("None");
        assertThat(map(replicas, "spec.selector")).isEqualTo(map(service, "spec.selector"));
        assertThat(list(replicas, "spec.ports"))
                .containsExactly(Map.of("name", "http", "port", 8080, "targetPort", "http", "protocol", "TCP"));
        assertThat(list(service, "spec.ports"))
                .containsExactly(Map.of("name", "http", "port", 8080, "targetPort", "http", "protocol", "TCP"));
        Map<String, Object> selector = map(service, "spec.selector");
        assertThat(selector).containsEntry("app.kubernetes.io/component", "control-plane");
        assertThat(map(find(objects, "Deployment"), "spec.template.metadata.labels")).containsAllEntriesOf(selector);
        assertThat(map(find(objects, "DaemonSet"), "spec.template.metadata.labels"))
                .containsEntry("app.kubernetes.io/component", "worker")
                .doesNotContainEntry("app.kubernetes.io/component", "control-plane");
    }

    @Test
    void workerDaemonSetDefaults() {
        Map<String, Object> daemonSet = find(render(Map.of()), "DaemonSet");
        assertThat(daemonSet.get("apiVersion")).isEqualTo("apps/v1");
        assertThat(map(daemonSet, "spec.selector.matchLabels"))
                .containsEntry("app.kubernetes.io/component", "worker");
        Map<String, Object> podSpec = map(daemonSet, "spec.template.spec");
        assertThat(podSpec).doesNotContainKeys("hostNetwork", "dnsPolicy", "nodeSelector", "tolerations");

        Map<String, Object> container = onlyContainer(podSpec);
        assertThat(container.get("image")).isEqualTo("ferry:0.1.0");
        assertThat(container.get("command")).isEqualTo(List.of("java", "-jar", "/app/ferry.jar", "worker"));
        assertThat(list(container, "ports"))
                .containsExactly(
                        Map.of("name", "control", "containerPort", 7070, "protocol", "TCP"),
                        Map.of("name", "data-plane", "containerPort", 7071, "protocol", "TCP"));

        Map<String, Map<String, Object>> env = env(container);
        assertThat(str(env.get("FERRY_HOST_ID"), "valueFrom.fieldRef.fieldPath")).isEqualTo("spec.nodeName");
        assertThat(env.get("FERRY_CONTROL_PLANE_URL")).containsEntry("value",
                "https://demo-ferry-replicas.ferry-system.svc:8080,https://demo-ferry.ferry-system.svc:8080");
        assertThat(env.get("FERRY_BIND")).containsEntry("value", "0.0.0.0");
        assertThat(str(env.get("FERRY_ADVERTISE_ADDRESS"), "valueFrom.fieldRef.fieldPath")).isEqualTo("status.podIP");
        assertThat(env.get("FERRY_CONTROL_PORT")).containsEntry("value", "7070");
        assertThat(env.get("FERRY_DATA_PORT")).containsEntry("value", "7071");
        assertThat(env.get("FERRY_HANDOFF_TIMEOUT_MS")).containsEntry("value", "60000");
        assertThat(env.get("FERRY_DATASTORE")).containsEntry("value", "/var/lib/ferry/datastore");
        assertThat(map(env.get("FERRY_WORKER_TOKEN"), "valueFrom.secretKeyRef"))
                .isEqualTo(Map.of("name", "demo-ferry-secret", "key", "worker-token"));

        assertThat(list(container, "volumeMounts"))
                .containsExactly(Map.of("name", "datastore", "mountPath", "/var/lib/ferry/datastore"),
                        Map.of("name", "tmp", "mountPath", "/tmp"),
                        Map.of("name", "data-plane-tls", "mountPath", "/etc/ferry/data-plane-tls", "readOnly", true),
                        Map.of("name", "control-channel-tls", "mountPath", "/etc/ferry/control-channel-tls",
                                "readOnly", true));
        assertThat(list(podSpec, "volumes"))
                .containsExactly(Map.of(
                        "name", "datastore",
                        "hostPath", Map.of("path", "/var/lib/ferry/datastore", "type", "DirectoryOrCreate")),
                        Map.of("name", "tmp", "emptyDir", Map.of()),
                        Map.of("name", "data-plane-tls", "secret", Map.of("secretName", "demo-ferry-data-plane-tls",
                                "defaultMode", 0440)),
                        Map.of("name", "control-channel-tls", "secret", Map.of("secretName",
                                "demo-ferry-worker-control-tls", "defaultMode", 0440)));
        assertThat(str(container, "resources.requests.memory")).isEqualTo("512Mi");
    }

    @Test
    void configMapAndSecretDefaults() {
        List<Map<String, Object>> objects = render(Map.of());
        assertThat(map(named(objects, "ConfigMap", "demo-ferry-config"), "data"))
                .isEqualTo(Map.of("database-url", "jdbc:postgresql://postgresql:5432/ferry"));
        Map<String, Object> secret = named(objects, "Secret", "demo-ferry-secret");
        assertThat(secret.get("type")).isEqualTo("Opaque");
        assertThat(decodedData(secret))
                .isEqualTo(Map.of(
                        "api-token", "api-secret-token",
                        "worker-token", "worker-secret-token",
                        "database-username", "ferry",
                        "database-password", "db-password"));
    }

    // ---------------------------------------------------------------- non-default values

    @Test
    void nonDefaultValuesTakeEffect() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("controlPlane.replicas", 3);
        values.put("worker.hostNetwork", true);
        values.put("worker.controlPort", 9070);
        values.put("worker.dataPort", 9071);
        values.put("postgresql.url", "jdbc:postgresql://db.example.internal:6432/migrations");
        values.put("postgresql.existingSecret", "pg-credentials");
        values.put("postgresql.password", "");
        values.put("image.repository", "registry.local/ferry");
        values.put("image.tag", "1.2.3");
        values.put("service.port", 80);
        values.put("controlPlane.startupProbe.enabled", true);
        values.put("controlPlane.resources.limits.memory", "4Gi");
        values.put("worker.nodeSelector.ferry/worker", "enabled");
        values.put("worker.tolerations[0].key", "dedicated");
        values.put("worker.tolerations[0].operator", "Exists");
        values.put("worker.tolerations[0].effect", "NoSchedule");
        List<Map<String, Object>> objects = render(values);

        Map<String, Object> deployment = find(objects, "Deployment");
        assertThat(get(deployment, "spec.replicas")).isEqualTo(3);
        Map<String, Object> cp = onlyContainer(map(deployment, "spec.template.spec"));
        assertThat(cp.get("image")).isEqualTo("registry.local/ferry:1.2.3");
        assertThat(str(cp, "startupProbe.httpGet.path")).isEqualTo("/actuator/health/liveness");
        assertThat(map(cp, "startupProbe")).doesNotContainKey("enabled").containsEntry("failureThreshold", 60);
        assertThat(str(cp, "resources.limits.memory")).isEqualTo("4Gi");
        Map<String, Map<String, Object>> cpEnv = env(cp);
        assertThat(map(cpEnv.get("SPRING_DATASOURCE_USERNAME"), "valueFrom.secretKeyRef"))
                .isEqualTo(Map.of("name", "pg-credentials", "key", "database-username"));
        assertThat(map(cpEnv.get("SPRING_DATASOURCE_PASSWORD"), "valueFrom.secretKeyRef"))
                .isEqualTo(Map.of("name", "pg-credentials", "key", "database-password"));
        assertThat(map(cpEnv.get("FERRY_API_TOKEN"), "valueFrom.secretKeyRef"))
                .containsEntry("name", "demo-ferry-secret");

        // The chart Secret keeps the tokens but no longer carries database credentials.
        assertThat(decodedData(named(objects, "Secret", "demo-ferry-secret")))
                .isEqualTo(Map.of("api-token", "api-secret-token", "worker-token", "worker-secret-token"));
        assertThat(map(named(objects, "ConfigMap", "demo-ferry-config"), "data"))
                .containsEntry("database-url", "jdbc:postgresql://db.example.internal:6432/migrations");
        assertThat(list(named(objects, "Service", "demo-ferry"), "spec.ports"))
                .containsExactly(Map.of("name", "http", "port", 80, "targetPort", "http", "protocol", "TCP"));

        Map<String, Object> podSpec = map(find(objects, "DaemonSet"), "spec.template.spec");
        assertThat(podSpec).containsEntry("hostNetwork", true).containsEntry("dnsPolicy", "ClusterFirstWithHostNet");
        assertThat(map(podSpec, "nodeSelector")).isEqualTo(Map.of("ferry/worker", "enabled"));
        assertThat(list(podSpec, "tolerations"))
                .containsExactly(Map.of("key", "dedicated", "operator", "Exists", "effect", "NoSchedule"));
        Map<String, Object> worker = onlyContainer(podSpec);
        assertThat(list(worker, "ports"))
                .containsExactly(
                        Map.of("name", "control", "containerPort", 9070, "hostPort", 9070, "protocol", "TCP"),
                        Map.of("name", "data-plane", "containerPort", 9071, "hostPort", 9071, "protocol", "TCP"));
        Map<String, Map<String, Object>> env = env(worker);
        assertThat(str(env.get("FERRY_ADVERTISE_ADDRESS"), "valueFrom.fieldRef.fieldPath")).isEqualTo("status.hostIP");
        assertThat(env.get("FERRY_CONTROL_PORT")).containsEntry("value", "9070");
        assertThat(env.get("FERRY_DATA_PORT")).containsEntry("value", "9071");
        assertThat(env.get("FERRY_CONTROL_PLANE_URL")).containsEntry("value",
                "https://demo-ferry-replicas.ferry-system.svc:8080,https://demo-ferry.ferry-system.svc:80");
    }

    @Test
    void existingClaimReplacesHostPathForTheDatastore() {
        Map<String, Object> podSpec = map(
                find(render(Map.of("worker.datastore.existingClaim", "ferry-shared")), "DaemonSet"),
                "spec.template.spec");
        assertThat(list(podSpec, "volumes"))
                .contains(Map.of("name", "datastore", "persistentVolumeClaim", Map.of("claimName", "ferry-shared")))
                .noneMatch(v -> asMap(v).containsKey("hostPath"));
        assertThat(podSpec).doesNotContainKey("initContainers");   // a claim's ownership follows fsGroup
        assertThat(env(onlyContainer(podSpec)).get("FERRY_DATASTORE")).containsEntry("value", "/var/lib/ferry/datastore");
    }

    @Test
    void customHostPathIsUsedForTheDatastore() {
        Map<String, Object> podSpec = map(
                find(render(Map.of("worker.datastore.hostPath", "/mnt/ferry")), "DaemonSet"), "spec.template.spec");
        assertThat(list(podSpec, "volumes"))
                .contains(Map.of(
                        "name", "datastore", "hostPath", Map.of("path", "/mnt/ferry", "type", "DirectoryOrCreate")));
    }

    @Test
    void prometheusAnnotationsAreConfigurable() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("controlPlane.metrics.prometheus.enabled", false);
        values.put("controlPlane.podAnnotations.team", "migrations");
        Map<String, Object> annotations =
                map(find(render(values), "Deployment"), "spec.template.metadata.annotations");
        assertThat(annotations).containsEntry("team", "migrations");
        assertThat(annotations.keySet()).noneMatch(k -> k.startsWith("prometheus.io/"));
    }

    @Test
    void admissionLimitsAreConfigurable() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("controlPlane.admission.maxJobs", 12);
        values.put("controlPlane.admission.maxOutboundPerHost", 4);
        Map<String, Map<String, Object>> env =
                env(onlyContainer(map(find(render(values), "Deployment"), "spec.template.spec")));
        assertThat(env.get("FERRY_ADMISSION_MAXJOBS")).containsEntry("value", "12");
        assertThat(env.get("FERRY_ADMISSION_MAXOUTBOUNDPERHOST")).containsEntry("value", "4");
        assertThat(env.get("FERRY_ADMISSION_MAXINBOUNDPERHOST")).containsEntry("value", "2");
    }

    @Test
    void fullnameOverrideRenamesEverything() {
        List<Map<String, Object>> objects = render(Map.of("fullnameOverride", "mig"));
        assertThat(objects)
                .extracting(o -> str(o, "metadata.name"))
                .containsExactlyInAnyOrder("mig-config", "mig-secret", "mig", "mig-replicas", "mig-control-plane",
                        "mig-worker",
                        "mig-control-plane", "mig-dashboard", "mig-data-plane-tls", "mig-worker",
                        "mig-control-plane-tls", "mig-worker-control-tls");
        assertThat(env(onlyContainer(map(find(objects, "DaemonSet"), "spec.template.spec")))
                        .get("FERRY_CONTROL_PLANE_URL"))
                .containsEntry("value", "https://mig-replicas.ferry-system.svc:8080,https://mig.ferry-system.svc:8080");
    }

    // ---------------------------------------------------------------- monitoring

    @Test
    void workerPodsCarryScrapeAnnotationsForTheirControlPort() {
        Map<String, Object> annotations =
                map(find(render(Map.of()), "DaemonSet"), "spec.template.metadata.annotations");
        assertThat(annotations)
                .containsEntry("prometheus.io/scrape", "true")
                .containsEntry("prometheus.io/path", "/metrics")
                .containsEntry("prometheus.io/port", "7070");

        Map<String, Object> values = new LinkedHashMap<>();
        values.put("worker.controlPort", 9070);
        assertThat(map(find(render(values), "DaemonSet"), "spec.template.metadata.annotations"))
                .containsEntry("prometheus.io/port", "9070");

        values.put("worker.metrics.prometheus.enabled", false);
        values.put("worker.podAnnotations.team", "migrations");
        Map<String, Object> off = map(find(render(values), "DaemonSet"), "spec.template.metadata.annotations");
        assertThat(off).containsEntry("team", "migrations").containsKey("checksum/secret");
        assertThat(off.keySet()).noneMatch(k -> k.startsWith("prometheus.io/"));
    }

    @Test
    void operatorMonitorsAreOffByDefault() {
        assertThat(render(Map.of()))
                .extracting(o -> (String) o.get("kind"))
                .doesNotContain("ServiceMonitor", "PodMonitor");
    }

    @Test
    void serviceMonitorScrapesTheControlPlaneService() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("monitoring.serviceMonitor.enabled", true);
        values.put("monitoring.serviceMonitor.interval", "15s");
        values.put("monitoring.serviceMonitor.labels.release", "kube-prometheus");
        List<Map<String, Object>> objects = render(values);
        Map<String, Object> monitor = find(objects, "ServiceMonitor");
        assertThat(monitor.get("apiVersion")).isEqualTo("monitoring.coreos.com/v1");
        assertThat(str(monitor, "metadata.name")).isEqualTo("demo-ferry-control-plane");
        assertThat(str(monitor, "metadata.namespace")).isEqualTo(NAMESPACE);
        assertThat(map(monitor, "metadata.labels"))
                .containsEntry("release", "kube-prometheus")
                .containsEntry("app.kubernetes.io/component", "control-plane");
        // it selects the Service (whose labels these are) and scrapes its named port
        assertThat(map(named(objects, "Service", "demo-ferry"), "metadata.labels"))
                .containsAllEntriesOf(map(monitor, "spec.selector.matchLabels"));
        assertThat(map(named(objects, "Service", "demo-ferry-replicas"), "metadata.labels"))
                .as("the headless Service is not scraped too").doesNotContainEntry("app.kubernetes.io/component",
                        "control-plane");
        assertThat(map(monitor, "spec.selector.matchLabels")).containsEntry("app.kubernetes.io/component", "control-plane");
        assertThat(list(monitor, "spec.namespaceSelector.matchNames")).containsExactly(NAMESPACE);
        assertThat(list(monitor, "spec.endpoints")).containsExactly(Map.of(
                "port", "http", "path", "/actuator/prometheus", "interval", "15s", "scrapeTimeout", "10s",
                "scheme", "https", "tlsConfig", Map.of("ca", Map.of("secret", Map.of("name",
                        "demo-ferry-control-plane-tls", "key", "ca.crt")), "serverName", "demo-ferry.ferry-system.svc")));
        assertThat(list(named(objects, "Service", "demo-ferry"), "spec.ports"))
                .anySatisfy(port -> assertThat(asMap(port)).containsEntry("name", "http"));
    }

    @Test
    void podMonitorScrapesEveryWorkerOnItsControlPort() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("monitoring.podMonitor.enabled", true);
        values.put("monitoring.podMonitor.labels.release", "kube-prometheus");
        List<Map<String, Object>> objects = render(values);
        Map<String, Object> monitor = find(objects, "PodMonitor");
        assertThat(monitor.get("apiVersion")).isEqualTo("monitoring.coreos.com/v1");
        assertThat(str(monitor, "metadata.name")).isEqualTo("demo-ferry-worker");
        assertThat(map(monitor, "metadata.labels")).containsEntry("release", "kube-prometheus");
        assertThat(map(monitor, "spec.selector.matchLabels")).containsEntry("app.kubernetes.io/component", "worker");
        assertThat(map(find(objects, "DaemonSet"), "spec.template.metadata.labels"))
                .containsAllEntriesOf(map(monitor, "spec.selector.matchLabels"));
        assertThat(list(monitor, "spec.podMetricsEndpoints")).containsExactly(Map.of(
                "port", "control", "path", "/metrics", "interval", "30s", "scrapeTimeout", "10s",
                "scheme", "https", "tlsConfig", Map.of("ca", Map.of("secret", Map.of("name",
                        "demo-ferry-worker-control-tls", "key", "ca.crt")), "serverName", "demo-ferry-worker")));
        // the port it names is the worker container's
        assertThat(list(onlyContainer(map(find(objects, "DaemonSet"), "spec.template.spec")), "ports"))
                .anySatisfy(port -> assertThat(asMap(port)).containsEntry("name", "control"));
    }

    @Test
    void controlPlaneHasADisruptionBudgetWhenItHasMoreThanOneReplica() {
        List<Map<String, Object>> objects = render(Map.of());
        Map<String, Object> pdb = find(objects, "PodDisruptionBudget");
        assertThat(pdb.get("apiVersion")).isEqualTo("policy/v1");
        assertThat(get(pdb, "spec.minAvailable")).isEqualTo(1);
        assertThat(map(pdb, "spec")).doesNotContainKey("maxUnavailable");
        assertThat(map(pdb, "spec.selector.matchLabels"))
                .isEqualTo(map(find(objects, "Deployment"), "spec.selector.matchLabels"));

        assertThat(render(Map.of("controlPlane.replicas", 1)))
                .extracting(o -> (String) o.get("kind"))
                .doesNotContain("PodDisruptionBudget");
        assertThat(render(Map.of("controlPlane.podDisruptionBudget.enabled", false)))
                .extracting(o -> (String) o.get("kind"))
                .doesNotContain("PodDisruptionBudget");

        Map<String, Object> values = new LinkedHashMap<>();
        values.put("controlPlane.replicas", 5);
        values.put("controlPlane.podDisruptionBudget.maxUnavailable", 2);
        Map<String, Object> byUnavailable = find(render(values), "PodDisruptionBudget");
        assertThat(get(byUnavailable, "spec.maxUnavailable")).isEqualTo(2);
        assertThat(map(byUnavailable, "spec")).doesNotContainKey("minAvailable");
    }

    @Test
    void grafanaDashboardShipsAsALabelledConfigMap() throws Exception {
        Map<String, Object> dashboard = named(render(Map.of()), "ConfigMap", "demo-ferry-dashboard");
        assertThat(map(dashboard, "metadata.labels"))
                .containsEntry("grafana_dashboard", "1")
                .containsEntry("app.kubernetes.io/instance", RELEASE);
        assertThat(str(dashboard, "metadata.namespace")).isEqualTo(NAMESPACE);
        assertThat(map(dashboard, "data")).containsOnlyKeys("ferry.json");
        String json = (String) map(dashboard, "data").get("ferry.json");
        assertThat(json.strip()).isEqualTo(Files.readString(CHART.resolve("dashboards/ferry.json")).strip());
        assertThat(new tools.jackson.databind.ObjectMapper().readTree(json).get("title").asString())
                .isEqualTo("Ferry");

        Map<String, Object> values = new LinkedHashMap<>();
        values.put("monitoring.grafanaDashboard.namespace", "monitoring");
        values.put("monitoring.grafanaDashboard.labelValue", "true");
        values.put("monitoring.grafanaDashboard.annotations.grafana_folder", "Ferry");
        Map<String, Object> moved = named(render(values), "ConfigMap", "demo-ferry-dashboard");
        assertThat(str(moved, "metadata.namespace")).isEqualTo("monitoring");
        assertThat(map(moved, "metadata.labels")).containsEntry("grafana_dashboard", "true");
        assertThat(map(moved, "metadata.annotations")).containsEntry("grafana_folder", "Ferry");

        assertThat(render(Map.of("monitoring.grafanaDashboard.enabled", false)))
                .extracting(o -> str(o, "metadata.name"))
                .doesNotContain("demo-ferry-dashboard");
    }

    // ---------------------------------------------------------------- hardening

    @Test
    void podsRunAsNonRootWithAReadOnlyRootAndNoCapabilities() {
        List<Map<String, Object>> objects = render(Map.of());
        for (String kind : List.of("Deployment", "DaemonSet")) {
            Map<String, Object> podSpec = map(find(objects, kind), "spec.template.spec");
            assertThat(map(podSpec, "securityContext")).as(kind)
                    .containsEntry("runAsNonRoot", true)
                    .containsEntry("runAsUser", 10001)
                    .containsEntry("seccompProfile", Map.of("type", "RuntimeDefault"));
            Map<String, Object> container = onlyContainer(podSpec);
            assertThat(map(container, "securityContext")).as(kind)
                    .containsEntry("allowPrivilegeEscalation", false)
                    .containsEntry("readOnlyRootFilesystem", true)
                    .containsEntry("capabilities", Map.of("drop", List.of("ALL")));
            // what the JVM must write goes to an emptyDir
            assertThat(list(container, "volumeMounts")).as(kind).contains(Map.of("name", "tmp", "mountPath", "/tmp"));
            assertThat(list(podSpec, "volumes")).as(kind).contains(Map.of("name", "tmp", "emptyDir", Map.of()));
        }
        Map<String, Object> controlPlane = map(find(objects, "Deployment"), "spec.template.spec");
        assertThat(list(onlyContainer(controlPlane), "volumeMounts"))
                .contains(Map.of("name", "cds", "mountPath", "/app/ferry-cds"));

        // the one root step: handing the hostPath datastore to the worker's user, with CAP_CHOWN alone
        List<Object> init = list(map(find(objects, "DaemonSet"), "spec.template.spec"), "initContainers");
        assertThat(init).hasSize(1);
        Map<String, Object> owner = asMap(init.get(0));
        assertThat(owner.get("command")).isEqualTo(List.of("chown", "10001:10001", "/var/lib/ferry/datastore"));
        assertThat(map(owner, "securityContext"))
                .containsEntry("allowPrivilegeEscalation", false)
                .containsEntry("readOnlyRootFilesystem", true)
                .containsEntry("capabilities", Map.of("drop", List.of("ALL"), "add", List.of("CHOWN")));
        assertThat(map(find(render(Map.of("worker.datastore.chownHostPath", false)), "DaemonSet"),
                "spec.template.spec")).doesNotContainKey("initContainers");
    }

    @Test
    void onlyTheControlPlaneReachesWorkerControlPortsAndOnlyWorkersTheirDataPorts() {
        List<Map<String, Object>> objects = render(Map.of());
        Map<String, Object> policy = find(objects, "NetworkPolicy");
        assertThat(policy.get("apiVersion")).isEqualTo("networking.k8s.io/v1");
        Map<String, Object> workerLabels = map(find(objects, "DaemonSet"), "spec.template.metadata.labels");
        Map<String, Object> controlPlaneLabels = map(find(objects, "Deployment"), "spec.template.metadata.labels");
        assertThat(workerLabels).containsAllEntriesOf(map(policy, "spec.podSelector.matchLabels"));
        assertThat(map(policy, "spec.podSelector.matchLabels")).containsEntry("app.kubernetes.io/component", "worker");
        assertThat(list(policy, "spec.policyTypes")).containsExactly("Ingress");
        List<Object> ingress = list(policy, "spec.ingress");
        assertThat(ingress).hasSize(2);

        Map<String, Object> control = asMap(ingress.get(0));
        assertThat(list(control, "ports")).containsExactly(Map.of("protocol", "TCP", "port", 7070));
        List<Object> controlPeers = list(control, "from");
        assertThat(controlPeers).hasSize(1);
        Map<String, Object> controlPeer = map(asMap(controlPeers.get(0)), "podSelector.matchLabels");
        assertThat(controlPeer).containsEntry("app.kubernetes.io/component", "control-plane");
        assertThat(controlPlaneLabels).containsAllEntriesOf(controlPeer);
        assertThat(workerLabels).doesNotContainEntry("app.kubernetes.io/component", "control-plane");

        Map<String, Object> data = asMap(ingress.get(1));
        assertThat(list(data, "ports")).containsExactly(Map.of("protocol", "TCP", "port", 7071));
        List<Object> dataPeers = list(data, "from");
        assertThat(dataPeers).hasSize(1);
        Map<String, Object> dataPeer = map(asMap(dataPeers.get(0)), "podSelector.matchLabels");
        assertThat(dataPeer).containsEntry("app.kubernetes.io/component", "worker");
        assertThat(workerLabels).containsAllEntriesOf(dataPeer);
        assertThat(controlPlaneLabels).doesNotContainEntry("app.kubernetes.io/component", "worker");

        // ports follow the values; a scraper can be let in to the control port; the policy can be turned off
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("worker.controlPort", 9070);
        values.put("worker.dataPort", 9071);
        values.put("networkPolicy.controlPortFrom[0].namespaceSelector.matchLabels.name", "monitoring");
        List<Object> moved = list(find(render(values), "NetworkPolicy"), "spec.ingress");
        assertThat(list(asMap(moved.get(0)), "ports")).containsExactly(Map.of("protocol", "TCP", "port", 9070));
        assertThat(list(asMap(moved.get(0)), "from")).hasSize(2)
                .contains(Map.of("namespaceSelector", Map.of("matchLabels", Map.of("name", "monitoring"))));
        assertThat(list(asMap(moved.get(1)), "ports")).containsExactly(Map.of("protocol", "TCP", "port", 9071));
        assertThat(render(Map.of("networkPolicy.enabled", false)))
                .extracting(o -> (String) o.get("kind")).doesNotContain("NetworkPolicy");
    }

    // ---------------------------------------------------------------- data-plane TLS

    @Test
    void dataPlaneTlsIsOnByDefaultWithAGeneratedCertificateTheWorkersLoad(@TempDir Path secrets) throws Exception {
        List<Map<String, Object>> objects = render(Map.of());
        Map<String, Object> secret = named(objects, "Secret", "demo-ferry-data-plane-tls");
        assertThat(secret.get("type")).isEqualTo("kubernetes.io/tls");
        Map<String, String> files = decodedData(secret);
        assertThat(files).containsOnlyKeys("tls.crt", "tls.key", "ca.crt");   // cert-manager's names
        for (Map.Entry<String, String> file : files.entrySet()) {
            Files.writeString(secrets.resolve(file.getKey()), file.getValue());
        }
        // the worker's own loader takes them, with either TLS implementation
        for (DataPlaneTls.Provider provider : List.of(DataPlaneTls.Provider.OPENSSL, DataPlaneTls.Provider.JDK)) {
            assertThat(DataPlaneTls.fromPem(secrets.resolve("tls.crt"), secrets.resolve("tls.key"),
                    secrets.resolve("ca.crt"), provider).providerName()).isEqualTo(provider.name().toLowerCase());
        }
        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        X509Certificate ca = (X509Certificate) x509.generateCertificate(
                new ByteArrayInputStream(files.get("ca.crt").getBytes(StandardCharsets.US_ASCII)));
        X509Certificate worker = (X509Certificate) x509.generateCertificate(
                new ByteArrayInputStream(files.get("tls.crt").getBytes(StandardCharsets.US_ASCII)));
        worker.verify(ca.getPublicKey());
        assertThat(worker.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");   // server and client

        Map<String, Map<String, Object>> env = env(onlyContainer(map(find(objects, "DaemonSet"), "spec.template.spec")));
        assertThat(env.get("FERRY_DATA_TLS_CERT")).containsEntry("value", "/etc/ferry/data-plane-tls/tls.crt");
        assertThat(env.get("FERRY_DATA_TLS_KEY")).containsEntry("value", "/etc/ferry/data-plane-tls/tls.key");
        assertThat(env.get("FERRY_DATA_TLS_CA")).containsEntry("value", "/etc/ferry/data-plane-tls/ca.crt");
        assertThat(env.get("FERRY_DATA_TLS_PROVIDER")).containsEntry("value", "auto");
        assertThat(env.get("FERRY_DATA_HANDSHAKE_TIMEOUT_MS")).containsEntry("value", "5000");
    }

    @Test
    void certManagerIssuesTheWorkersCertificateIntoTheMountedSecret() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("worker.dataPlaneTls.source", "certManager");
        values.put("worker.dataPlaneTls.certManager.issuerRef.name", "cluster-ca");
        values.put("worker.dataPlaneTls.certManager.issuerRef.kind", "ClusterIssuer");
        List<Map<String, Object>> objects = render(values);
        assertThat(objects).extracting(o -> str(o, "metadata.name")).doesNotContain("demo-ferry-data-plane-tls");
        Map<String, Object> certificate = find(objects, "Certificate");
        assertThat(certificate.get("apiVersion")).isEqualTo("cert-manager.io/v1");
        assertThat(str(certificate, "spec.secretName")).isEqualTo("demo-ferry-data-plane-tls");
        assertThat(list(certificate, "spec.usages")).contains("server auth", "client auth");
        assertThat(map(certificate, "spec.privateKey")).containsEntry("encoding", "PKCS8");
        assertThat(map(certificate, "spec.issuerRef"))
                .isEqualTo(Map.of("name", "cluster-ca", "kind", "ClusterIssuer", "group", "cert-manager.io"));
        assertThat(list(map(find(objects, "DaemonSet"), "spec.template.spec"), "volumes")).contains(Map.of(
                "name", "data-plane-tls", "secret", Map.of("secretName", "demo-ferry-data-plane-tls",
                        "defaultMode", 0440)));

        values.remove("worker.dataPlaneTls.certManager.issuerRef.name");
        assertThatThrownBy(() -> renderRaw(withRequired(values)))
                .hasMessageContaining("worker.dataPlaneTls.certManager.issuerRef.name is required");
    }

    @Test
    void anExistingSecretIsMountedAsItIs() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("worker.dataPlaneTls.source", "existingSecret");
        values.put("worker.dataPlaneTls.secretName", "my-worker-certs");
        values.put("controlChannelTls.enabled", false);
        List<Map<String, Object>> objects = render(values);
        assertThat(objects).extracting(o -> (String) o.get("kind")).doesNotContain("Certificate")
                .filteredOn("Secret"::equals).hasSize(1);
        assertThat(list(map(find(objects, "DaemonSet"), "spec.template.spec"), "volumes")).contains(Map.of(
                "name", "data-plane-tls", "secret", Map.of("secretName", "my-worker-certs", "defaultMode", 0440)));

        values.remove("worker.dataPlaneTls.secretName");
        assertThatThrownBy(() -> renderRaw(withRequired(values)))
                .hasMessageContaining("worker.dataPlaneTls.secretName is required");
    }

    @Test
    void turningDataPlaneTlsOffLeavesNoCertificateBehind() {
        List<Map<String, Object>> objects = render(Map.of("worker.dataPlaneTls.enabled", false));
        assertThat(objects).extracting(o -> str(o, "metadata.name")).doesNotContain("demo-ferry-data-plane-tls");
        Map<String, Object> podSpec = map(find(objects, "DaemonSet"), "spec.template.spec");
        assertThat(env(onlyContainer(podSpec)).keySet()).noneMatch(k -> k.startsWith("FERRY_DATA_TLS_"));
        // said out loud, or the worker (listening on 0.0.0.0) refuses to start plain
        assertThat(env(onlyContainer(podSpec)).get("FERRY_ALLOW_PLAIN_DATA_PLANE")).containsEntry("value", "true");
        assertThat(list(podSpec, "volumes")).noneMatch(v -> "data-plane-tls".equals(asMap(v).get("name")));
    }

    // ---------------------------------------------------------------- control-channel TLS

    @Test
    void controlChannelTlsIsOnByDefaultAndEachSideAcceptsOnlyTheOthersCertificate(@TempDir Path dir) throws Exception {
        List<Map<String, Object>> objects = render(Map.of());
        Map<String, String> controlPlane = decodedData(named(objects, "Secret", "demo-ferry-control-plane-tls"));
        Map<String, String> worker = decodedData(named(objects, "Secret", "demo-ferry-worker-control-tls"));
        assertThat(controlPlane).containsOnlyKeys("tls.crt", "tls.key", "ca.crt");
        assertThat(worker).containsOnlyKeys("tls.crt", "tls.key", "ca.crt");
        assertThat(worker.get("ca.crt")).as("one CA for both sides").isEqualTo(controlPlane.get("ca.crt"));
        Path cpDir = write(dir.resolve("cp"), controlPlane);
        Path workerDir = write(dir.resolve("worker"), worker);
        // loaded as the two sides load them, and checked as they check each other
        TlsMaterial cp = TlsMaterial.fromPem(cpDir.resolve("tls.crt"), cpDir.resolve("tls.key"),
                cpDir.resolve("ca.crt"), java.time.Duration.ofSeconds(30));
        TlsMaterial wk = TlsMaterial.fromPem(workerDir.resolve("tls.crt"), workerDir.resolve("tls.key"),
                workerDir.resolve("ca.crt"), java.time.Duration.ofSeconds(30));
        assertThat(TlsMaterial.names(cp.certificate())).contains("demo-ferry-control-plane",
                "demo-ferry.ferry-system.svc");
        assertThat(TlsMaterial.names(wk.certificate())).contains("demo-ferry-worker");

        Map<String, Map<String, Object>> cpEnv = env(onlyContainer(map(find(objects, "Deployment"),
                "spec.template.spec")));
        Map<String, Map<String, Object>> workerEnv = env(onlyContainer(map(find(objects, "DaemonSet"),
                "spec.template.spec")));
        String workerNames = str(cpEnv.get("FERRY_CONTROLCHANNEL_TLS_WORKERNAMES"), "value");
        String controlPlaneNames = str(workerEnv.get("FERRY_CONTROL_TLS_PEER_NAMES"), "value");
        var workerTrust = wk.trustManager(java.util.Set.of(controlPlaneNames));
        var controlPlaneTrust = cp.trustManager(java.util.Set.of(workerNames));
        workerTrust.checkClientTrusted(new X509Certificate[] {cp.certificate()}, "ECDSA");
        workerTrust.checkServerTrusted(new X509Certificate[] {cp.certificate()}, "ECDHE_RSA");
        controlPlaneTrust.checkServerTrusted(new X509Certificate[] {wk.certificate()}, "ECDHE_RSA");
        assertThatThrownBy(() -> workerTrust.checkClientTrusted(new X509Certificate[] {wk.certificate()}, "ECDSA"))
                .as("a worker's certificate does not command workers")
                .isInstanceOf(java.security.cert.CertificateException.class);

        assertThat(str(cpEnv.get("SERVER_SSL_BUNDLE"), "value")).isEqualTo("controlchannel");
        assertThat(str(cpEnv.get("SPRING_SSL_BUNDLE_PEM_CONTROLCHANNEL_KEYSTORE_CERTIFICATE"), "value"))
                .isEqualTo("file:/etc/ferry/control-channel-tls/tls.crt");
        assertThat(str(cpEnv.get("FERRY_CONTROLCHANNEL_TLS_CA"), "value"))
                .isEqualTo("/etc/ferry/control-channel-tls/ca.crt");
        assertThat(str(workerEnv.get("FERRY_CONTROL_TLS_CERT"), "value"))
                .isEqualTo("/etc/ferry/control-channel-tls/tls.crt");
        assertThat(str(workerEnv.get("FERRY_TLS_RELOAD_INTERVAL_MS"), "value")).isEqualTo("30000");
        assertThat(list(map(find(objects, "Deployment"), "spec.template.spec"), "volumes")).contains(Map.of(
                "name", "control-channel-tls", "secret", Map.of("secretName", "demo-ferry-control-plane-tls",
                        "defaultMode", 0440)));
    }

    @Test
    void certManagerIssuesBothControlChannelCertificates() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("controlChannelTls.source", "certManager");
        values.put("controlChannelTls.certManager.issuerRef.name", "cluster-ca");
        values.put("worker.dataPlaneTls.enabled", false);
        List<Map<String, Object>> objects = render(values);
        assertThat(objects).extracting(o -> (String) o.get("kind")).filteredOn("Secret"::equals).hasSize(1);
        List<Map<String, Object>> certificates = objects.stream().filter(o -> "Certificate".equals(o.get("kind")))
                .collect(Collectors.toList());
        assertThat(certificates).extracting(c -> str(c, "spec.secretName"))
                .containsExactlyInAnyOrder("demo-ferry-control-plane-tls", "demo-ferry-worker-control-tls");
        assertThat(certificates).extracting(c -> str(c, "spec.commonName"))
                .containsExactlyInAnyOrder("demo-ferry-control-plane", "demo-ferry-worker");
        assertThat(certificates).allSatisfy(c -> assertThat(list(c, "spec.usages"))
                .contains("server auth", "client auth"));

        values.remove("controlChannelTls.certManager.issuerRef.name");
        assertThatThrownBy(() -> renderRaw(withRequired(values)))
                .hasMessageContaining("controlChannelTls.certManager.issuerRef.name is required");
        values.put("controlChannelTls.source", "existingSecret");
        values.put("controlChannelTls.controlPlaneSecretName", "cp-certs");
        assertThatThrownBy(() -> renderRaw(withRequired(values)))
                .hasMessageContaining("controlChannelTls.workerSecretName is required");
    }

    @Test
    void turningControlChannelTlsOffIsPlainHttpWithNoCertificateBehind() {
        List<Map<String, Object>> objects = render(Map.of("controlChannelTls.enabled", false));
        assertThat(objects).extracting(o -> str(o, "metadata.name"))
                .doesNotContain("demo-ferry-control-plane-tls", "demo-ferry-worker-control-tls");
        Map<String, Object> cp = onlyContainer(map(find(objects, "Deployment"), "spec.template.spec"));
        assertThat(env(cp).keySet()).noneMatch(k -> k.startsWith("FERRY_CONTROLCHANNEL_") || k.startsWith("SERVER_SSL"));
        assertThat(map(cp, "livenessProbe.httpGet")).doesNotContainKey("scheme");
        Map<String, Map<String, Object>> workerEnv = env(onlyContainer(map(find(objects, "DaemonSet"),
                "spec.template.spec")));
        assertThat(workerEnv.get("FERRY_CONTROL_PLANE_URL")).containsEntry("value",
                "http://demo-ferry-replicas.ferry-system.svc:8080,http://demo-ferry.ferry-system.svc:8080");
        assertThat(workerEnv.keySet()).noneMatch(k -> k.startsWith("FERRY_CONTROL_TLS_"));
    }

    private static Path write(Path dir, Map<String, String> files) throws Exception {
        Files.createDirectories(dir);
        for (Map.Entry<String, String> file : files.entrySet()) {
            Files.writeString(dir.resolve(file.getKey()), file.getValue());
        }
        return dir;
    }

    // ---------------------------------------------------------------- required values

    @Test
    void renderingWithoutApiTokenFailsWithAClearMessage() {
        Map<String, Object> values = requiredValues();
        values.remove("auth.apiToken");
        assertThatThrownBy(() -> renderRaw(values)).hasMessageContaining("auth.apiToken is required");
    }

    @Test
    void renderingWithoutWorkerTokenFailsWithAClearMessage() {
        Map<String, Object> values = requiredValues();
        values.remove("auth.workerToken");
        assertThatThrownBy(() -> renderRaw(values)).hasMessageContaining("auth.workerToken is required");
    }

    @Test
    void renderingWithoutDatabasePasswordOrExistingSecretFails() {
        Map<String, Object> values = requiredValues();
        values.remove("postgresql.password");
        assertThatThrownBy(() -> renderRaw(values))
                .hasMessageContaining("postgresql.password is required unless postgresql.existingSecret is set");
    }

    // ---------------------------------------------------------------- helpers

    private static List<Map<String, Object>> render(Map<String, Object> overrides) {
        return parse(renderRaw(withRequired(overrides)));
    }

    private static Map<String, Object> withRequired(Map<String, Object> overrides) {
        Map<String, Object> values = requiredValues();
        values.putAll(overrides);
        return values;
    }

    private static String renderRaw(Map<String, Object> values) {
        TemplateCommand template = new Helm(CHART).template().withName(RELEASE).withNamespace(NAMESPACE);
        values.forEach(template::set);
        return template.call();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> parse(String manifests) {
        Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
        List<Map<String, Object>> objects = new ArrayList<>();
        for (Object document : yaml.loadAll(manifests)) {
            if (document != null) {
                objects.add((Map<String, Object>) document);
            }
        }
        assertThat(objects).as("rendered objects").isNotEmpty();
        return objects;
    }

    private static Map<String, Object> find(List<Map<String, Object>> objects, String kind) {
        List<Map<String, Object>> matches =
                objects.stream().filter(o -> kind.equals(o.get("kind"))).collect(Collectors.toList());
        assertThat(matches).as("objects of kind %s", kind).hasSize(1);
        return matches.get(0);
    }

    private static Map<String, Object> named(List<Map<String, Object>> objects, String kind, String name) {
        List<Map<String, Object>> matches = objects.stream()
                .filter(o -> kind.equals(o.get("kind")) && name.equals(str(o, "metadata.name")))
                .collect(Collectors.toList());
        assertThat(matches).as("%s/%s", kind, name).hasSize(1);
        return matches.get(0);
    }

    private static Map<String, Object> onlyContainer(Map<String, Object> podSpec) {
        List<Object> containers = list(podSpec, "containers");
        assertThat(containers).hasSize(1);
        return asMap(containers.get(0));
    }

    /** Container env as name -> entry, in declaration order. */
    private static Map<String, Map<String, Object>> env(Map<String, Object> container) {
        Map<String, Map<String, Object>> env = new LinkedHashMap<>();
        for (Object entry : list(container, "env")) {
            Map<String, Object> e = asMap(entry);
            assertThat(env.put((String) e.get("name"), e)).as("duplicate env %s", e.get("name")).isNull();
        }
        return env;
    }

    private static Map<String, String> decodedData(Map<String, Object> secret) {
        Map<String, String> decoded = new LinkedHashMap<>();
        map(secret, "data").forEach((k, v) -> decoded.put(
                k, new String(Base64.getDecoder().decode((String) v), StandardCharsets.UTF_8)));
        return decoded;
    }

    /** Navigates a dotted path of map keys. */
    private static Object get(Map<String, Object> root, String path) {
        Object current = root;
        for (String key : path.split("\\.")) {
            assertThat(current).as("parent of '%s' in path %s", key, path).isInstanceOf(Map.class);
            Map<String, Object> m = asMap(current);
            assertThat(m).as("path %s", path).containsKey(key);
            current = m.get(key);
        }
        return current;
    }

    private static String str(Map<String, Object> root, String path) {
        Object value = get(root, path);
        return value == null ? null : value.toString();
    }

    private static Map<String, Object> map(Map<String, Object> root, String path) {
        return asMap(get(root, path));
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Map<String, Object> root, String path) {
        Object value = get(root, path);
        assertThat(value).as(path).isInstanceOf(List.class);
        return (List<Object>) value;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object value) {
        assertThat(value).isInstanceOf(Map.class);
        return (Map<String, Object>) value;
    }
}
