package io.ferry.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.control.drain.DrainGuestState;
import io.ferry.control.drain.DrainState;
import io.ferry.control.events.EventType;
import io.ferry.control.events.Payloads;
import io.ferry.channel.DirtyRateMode;
import io.ferry.control.guest.DirtyRateStatus;
import io.ferry.control.guest.GuestState;
import io.ferry.control.host.HostState;
import io.ferry.control.job.AbandonSide;
import io.ferry.control.job.EscalationStep;
import io.ferry.control.job.JobEvent;
import io.ferry.control.job.JobPriority;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.MigrationParameters;
import io.ferry.channel.StorageMode;
import io.ferry.channel.OwnershipState;
import io.ferry.control.preflight.ConvergenceForecast;
import io.ferry.control.system.AuditLog;
import io.ferry.control.system.Role;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import jakarta.validation.constraints.Size;
import java.lang.reflect.Field;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/**
 * The contract file itself (OpenAPI 3.1.0, references, operation hygiene), its agreement
 * with the Java records and enums it describes, and {@link OpenApiContract} as a validator
 * that passes correct responses and fails wrong ones.
 */
class OpenApiContractTest {

    private static final String JSON = "application/json";
    private static final String PROBLEM = "application/problem+json";
    private static final String EVENT_STREAM = "text/event-stream";
    private static final String API = "io.ferry.control.api.";

    private final OpenApiContract contract = OpenApiContract.shared();
    private final JsonNode spec = contract.document();

    // ------------------------------------------------------------------ the document

    @Test
    void isAnOpenApi310DocumentWithGlobalBearerSecurity() {
        assertThat(spec.path("openapi").asString()).isEqualTo("3.1.0");
        assertThat(spec.path("info").path("title").asString()).isNotBlank();
        assertThat(spec.path("info").path("version").asString()).isNotBlank();
        JsonNode scheme = spec.path("components").path("securitySchemes").path("bearerAuth");
        assertThat(scheme.path("type").asString()).isEqualTo("http");
        assertThat(scheme.path("scheme").asString()).isEqualTo("bearer");
        assertThat(spec.path("security").get(0).has("bearerAuth")).isTrue();
    }

    @Test
    void everyReferenceResolves() {
        assertThat(contract.unresolvedReferences()).isEmpty();
    }

    @Test
    void servesExactlyTheOperationsOfTheControllers() {
        assertThat(contract.operations()).containsExactlyInAnyOrder(
                "GET /api/v1/hosts",
                "GET /api/v1/hosts/{hostId}",
                "PUT /api/v1/hosts/{hostId}/labels",
                "PUT /api/v1/hosts/{hostId}/limits",
                "POST /api/v1/hosts/{hostId}/drain",
                "DELETE /api/v1/hosts/{hostId}/drain",
                "POST /api/v1/hosts/{hostId}/revoke-credential",
                "GET /api/v1/admission",
                "PUT /api/v1/admission/limits",
                "GET /api/v1/policies",
                "POST /api/v1/policies",
                "GET /api/v1/policies/{name}",
                "PUT /api/v1/policies/{name}",
                "DELETE /api/v1/policies/{name}",
                "GET /api/v1/guests",
                "POST /api/v1/guests",
                "GET /api/v1/guests/{guestId}",
                "DELETE /api/v1/guests/{guestId}",
                "PUT /api/v1/guests/{guestId}/labels",
                "POST /api/v1/guests/{guestId}/pause",
                "POST /api/v1/guests/{guestId}/resume",
                "POST /api/v1/guests/{guestId}/save",
                "POST /api/v1/guests/{guestId}/dirty-rate",
                "GET /api/v1/guests/{guestId}/checksums",
                "GET /api/v1/migrations",
                "POST /api/v1/migrations",
                "POST /api/v1/migrations/preflight",
                "GET /api/v1/migrations/{jobId}",
                "PATCH /api/v1/migrations/{jobId}",
                "POST /api/v1/migrations/{jobId}/cancel",
                "POST /api/v1/migrations/{jobId}/postcopy",
                "POST /api/v1/migrations/{jobId}/recover",
                "POST /api/v1/migrations/{jobId}/force-complete",
                "POST /api/v1/migrations/{jobId}/abandon",
                "GET /api/v1/migrations/{jobId}/events",
                "GET /api/v1/disks/{diskId}",
                "GET /api/v1/disks/{diskId}/ownership",
                "GET /api/v1/events",
                "GET /api/v1/subscriptions",
                "POST /api/v1/subscriptions",
                "GET /api/v1/subscriptions/{subscriptionId}",
                "DELETE /api/v1/subscriptions/{subscriptionId}",
                "GET /api/v1/tokens",
                "POST /api/v1/tokens",
                "GET /api/v1/tokens/{tokenId}",
                "DELETE /api/v1/tokens/{tokenId}",
                "GET /api/v1/audit");
    }

    @Test
    void everyOperationDeclaresTheRoleItNeeds() {
        List<String> roles = Arrays.asList(apiNames(Role.values(), Role::apiName));
        forEachOperation((name, operation) -> {
            String role = operation.path("x-ferry-role").asString();
            assertThat(roles).as(name + " x-ferry-role").contains(role);
            if (name.startsWith("GET ") && !name.contains("/tokens") && !name.contains("/audit")) {
                assertThat(role).as(name + ": viewers read everything but tokens and the audit log")
                        .isEqualTo("viewer");
            }
        });
    }

    @Test
    void everyOperationHasAUniqueIdASummaryADescriptionAnd401And403() {
        List<String> ids = new ArrayList<>();
        forEachOperation((name, operation) -> {
            assertThat(operation.path("operationId").asString()).as(name + " operationId").isNotBlank();
            assertThat(operation.path("summary").asString()).as(name + " summary").isNotBlank();
            assertThat(operation.path("description").asString()).as(name + " description").isNotBlank();
            assertThat(operation.path("responses").has("401")).as(name + " answers 401").isTrue();
            assertThat(operation.path("responses").has("403")).as(name + " answers 403").isTrue();
            ids.add(operation.path("operationId").asString());
        });
        assertThat(ids).doesNotHaveDuplicates().hasSize(contract.operations().size());
    }

    @Test
    void everyErrorResponseIsAProblemAndEverySuccessIsJsonOrEmpty() {
        forEachOperation((name, operation) -> operation.path("responses").propertyNames().forEach(code -> {
            JsonNode response = deref(operation.path("responses").path(code));
            assertThat(response.path("description").asString()).as(name + " " + code + " description").isNotBlank();
            Set<String> media = new HashSet<>(response.path("content").propertyNames());
            if (code.startsWith("4") || code.startsWith("5")) {
                assertThat(media).as(name + " " + code).containsExactly(PROBLEM);
            } else if (code.equals("204")) {
                assertThat(media).as(name + " " + code).isEmpty();
            } else if (name.equals("GET /api/v1/events")) {
                // a Server-Sent Events stream: its events' data are JSON, named by event under x-events
                assertThat(media).as(name + " " + code).containsExactly(EVENT_STREAM);
                JsonNode events = response.path("content").path(EVENT_STREAM).path("x-events");
                List<String> names = new ArrayList<>(events.propertyNames());
                List<String> expected = new ArrayList<>(Arrays.asList(apiNames(EventType.values(), EventType::apiName)));
                expected.add("gap");
                assertThat(names).as(name + " x-events").containsExactlyInAnyOrderElementsOf(expected);
            } else {
                assertThat(media).as(name + " " + code).containsExactly(JSON);
            }
        }));
    }

    /** Issue 12: Accept and Content-Type are checked before an operation runs, so each may answer so. */
    @Test
    void everyOperationCanAnswer406AndEveryOperationWithABody415() {
        forEachOperation((name, operation) -> {
            assertThat(operation.path("responses").has("406")).as(name + " answers 406").isTrue();
            if (operation.has("requestBody")) {
                assertThat(operation.path("responses").has("415")).as(name + " answers 415").isTrue();
                assertThat(operation.path("requestBody").path("content").propertyNames())
                        .as(name + " takes JSON only").containsExactly(JSON);
            }
        });
    }

    /** Issue 12: a page number times the largest size stays within an int offset. */
    @Test
    void thePageNumberIsBounded() {
        JsonNode page = null;
        for (JsonNode p : spec.path("paths").path("/api/v1/migrations").path("get").path("parameters")) {
            if (p.path("name").asString().equals("page")) {
                page = p;
            }
        }
        assertThat(page).isNotNull();
        long max = page.path("schema").path("maximum").asLong();
        assertThat(max).isPositive();
        assertThat(max * 200).isLessThanOrEqualTo(Integer.MAX_VALUE);
    }

    @Test
    void everyUuidPathParameterCanAnswer400() {
        forEachOperation((name, operation) -> {
            boolean uuidInPath = false;
            for (JsonNode parameter : operation.path("parameters")) {
                JsonNode p = deref(parameter);
                uuidInPath |= p.path("in").asString().equals("path")
                        && p.path("schema").path("format").asString().equals("uuid");
            }
            if (uuidInPath) {
                assertThat(operation.path("responses").has("400")).as(name + " answers 400").isTrue();
            }
        });
    }

    @Test
    void createsTakeAnIdempotencyKeyAndAnswerWithALocation() {
        for (String[] create : new String[][] {{"/api/v1/guests", "201"}, {"/api/v1/migrations", "202"}}) {
            JsonNode operation = spec.path("paths").path(create[0]).path("post");
            List<String> headers = new ArrayList<>();
            operation.path("parameters").forEach(p -> {
                JsonNode parameter = deref(p);
                if (parameter.path("in").asString().equals("header")) {
                    headers.add(parameter.path("name").asString());
                }
            });
            assertThat(headers).as(create[0]).containsExactly("Idempotency-Key");
            JsonNode location = deref(deref(operation.path("responses").path(create[1])).path("headers").path("Location"));
            assertThat(location.path("required").asBoolean()).as(create[0] + " Location").isTrue();
        }
    }

    @Test
    void mirrorsQemuDefaultsAndTheListLimits() {
        JsonNode parameters = schema("MigrationParametersRequest").path("properties");
        assertThat(parameters.path("maxBandwidth").path("default").asLong())
                .isEqualTo(MigrationParameters.DEFAULT_MAX_BANDWIDTH).isEqualTo(134_217_728L);
        assertThat(parameters.path("downtimeLimitMs").path("default").asLong())
                .isEqualTo(MigrationParameters.DEFAULT_DOWNTIME_LIMIT_MS).isEqualTo(300L);
        // no fixed default: shared when both hosts share a datastore, else copy (or the policy's)
        assertThat(parameters.path("storage").has("default")).isFalse();
        assertThat(parameters.path("priority").path("default").asString()).isEqualTo(JobPriority.USER.apiName());
        // no fixed default: 2, or 1 for a job that may post-copy
        assertThat(schema("MigrationCapabilitiesRequest").path("properties").path("channels").has("default")).isFalse();
        assertThat(schema("MigrationCapabilitiesRequest").path("properties").path("channels").path("description")
                .asString()).contains("Default " + MigrationParameters.DEFAULT_CHANNELS);

        Map<String, JsonNode> query = new java.util.HashMap<>();
        spec.path("paths").path("/api/v1/migrations").path("get").path("parameters")
                .forEach(p -> query.put(deref(p).path("name").asString(), deref(p).path("schema")));
        assertThat(query.keySet()).containsExactlyInAnyOrder("status", "guestId", "hostId", "after", "page", "size");
        assertThat(query.get("page").path("minimum").asInt()).isZero();
        assertThat(query.get("page").path("default").asInt()).isZero();
        assertThat(query.get("size").path("minimum").asInt()).isEqualTo(1);
        assertThat(query.get("size").path("maximum").asInt()).isEqualTo(200);
        assertThat(query.get("size").path("default").asInt()).isEqualTo(20);
        assertThat(deref(query.get("status")).path("enum")).isEqualTo(schema("JobStatus").path("enum"));
    }

    // ------------------------------------------------------------------ agreement with the Java side

    @Test
    void enumsSpellTheApiNamesOfTheJavaEnums() {
        assertThat(enumOf("JobStatus")).containsExactly(apiNames(JobStatus.values(), JobStatus::apiName));
        assertThat(enumOf("GuestState")).containsExactly(apiNames(GuestState.values(), GuestState::apiName));
        assertThat(enumOf("GuestRuntime")).containsExactly(
                apiNames(io.ferry.channel.GuestRuntime.values(), io.ferry.channel.GuestRuntime::apiName));
        assertThat(enumOf("DirtyRateMode")).containsExactly(apiNames(DirtyRateMode.values(), DirtyRateMode::apiName));
        assertThat(enumOf("DirtyRateStatus"))
                .containsExactly(apiNames(DirtyRateStatus.values(), DirtyRateStatus::apiName));
        assertThat(enumOf("HostState")).containsExactly(apiNames(HostState.values(), HostState::apiName));
        assertThat(enumOf("OwnershipState")).containsExactly(apiNames(OwnershipState.values(), OwnershipState::apiName));
        assertThat(enumOf("StorageMode")).containsExactly(apiNames(StorageMode.values(), StorageMode::apiName));
        assertThat(enumOf("SaveFormat")).containsExactly(
                apiNames(io.ferry.channel.SaveFormat.values(), io.ferry.channel.SaveFormat::apiName));
        assertThat(enumOf("JobPriority")).containsExactly(apiNames(JobPriority.values(), JobPriority::apiName));
        assertThat(enumOf("EscalationStep")).containsExactly(apiNames(EscalationStep.values(), EscalationStep::apiName));
        assertThat(enumOf("DrainState")).containsExactly(apiNames(DrainState.values(), DrainState::apiName));
        assertThat(enumOf("DrainGuestState"))
                .containsExactly(apiNames(DrainGuestState.values(), DrainGuestState::apiName));
        assertThat(enumOf("ForecastVerdict")).containsExactly(
                apiNames(ConvergenceForecast.Verdict.values(), ConvergenceForecast.Verdict::apiName));
        assertThat(enumOf("AbandonSide")).containsExactly(apiNames(AbandonSide.values(), AbandonSide::apiName));
        assertThat(enumOf("EventType")).containsExactly(apiNames(EventType.values(), EventType::apiName));
        assertThat(enumOf("Role")).containsExactly(apiNames(Role.values(), Role::apiName));
        assertThat(enumOf("AuditOutcome"))
                .containsExactly(apiNames(AuditLog.Outcome.values(), AuditLog.Outcome::apiName));
        assertThat(enumOf("GuestChange"))
                .containsExactly(apiNames(Payloads.GuestChange.values(), Payloads.GuestChange::apiName));
        assertThat(enumOf("HostChange"))
                .containsExactly(apiNames(Payloads.HostChange.values(), Payloads.HostChange::apiName));
        assertThat(enumOf("JobEventKind")).containsExactly(apiNames(JobEvent.Kind.values(), JobEvent.Kind::apiName));
        List<String> nullableFrom = new ArrayList<>();
        schema("JobEvent").path("properties").path("from").path("enum")
                .forEach(v -> nullableFrom.add(v.isNull() ? null : v.asString()));
        List<String> expected = new ArrayList<>(enumOf("JobStatus"));
        expected.add(null);
        assertThat(nullableFrom).containsExactlyElementsOf(expected);
    }

    static List<Arguments> responseRecords() {
        return List.of(
                Arguments.of(API + "HostResponse", "Host"),
                Arguments.of(API + "HostResponse$Capacity", "HostCapacity"),
                Arguments.of(API + "HostResponse$RuntimeView", "HostRuntime"),
                Arguments.of(API + "HostResponse$Limits", "HostLimits"),
                Arguments.of(API + "HostResponse$Jobs", "HostJobs"),
                Arguments.of(API + "HostResponse$DrainView", "HostDrain"),
                Arguments.of(API + "HostResponse$DrainGuestView", "DrainGuest"),
                Arguments.of(API + "AdmissionController$AdmissionView", "Admission"),
                Arguments.of(API + "AdmissionController$LimitsView", "AdmissionLimits"),
                Arguments.of(API + "AdmissionController$HostLimitsView", "HostLimitOverride"),
                Arguments.of(API + "AdmissionController$QueuedView", "QueuedJob"),
                Arguments.of(API + "PolicyController$PolicyView", "Policy"),
                Arguments.of(API + "PolicyController$RampStepView", "DowntimeRampStep"),
                Arguments.of(API + "GuestResponse", "Guest"),
                Arguments.of(API + "GuestResponse$RamBlockView", "RamBlock"),
                Arguments.of(API + "GuestResponse$WorkloadView", "Workload"),
                Arguments.of(API + "GuestResponse$DirtyRateView", "GuestDirtyRate"),
                Arguments.of(API + "DiskResponse", "Disk"),
                Arguments.of(API + "DiskResponse$Ownership", "DiskOwnershipSummary"),
                Arguments.of(API + "OwnershipResponse", "DiskOwnership"),
                Arguments.of(API + "OwnershipResponse$HistoryEntry", "OwnershipHistoryEntry"),
                Arguments.of(API + "MigrationResponse", "Migration"),
                Arguments.of(API + "MigrationResponse$ParametersView", "MigrationParameters"),
                Arguments.of(API + "MigrationResponse$CapabilitiesView", "MigrationCapabilities"),
                Arguments.of(API + "MigrationResponse$PolicyView", "JobPolicy"),
                Arguments.of(API + "MigrationResponse$DeadlinesView", "JobDeadlines"),
                Arguments.of(API + "MigrationResponse$RampStepView", "DowntimeRampStep"),
                Arguments.of(API + "PreflightResponse", "Preflight"),
                Arguments.of(API + "PreflightResponse$CheckView", "PreflightCheck"),
                Arguments.of(API + "PreflightResponse$Plan", "PreflightPlan"),
                Arguments.of(API + "PreflightResponse$ForecastView", "ConvergenceForecast"),
                Arguments.of(API + "JobEventResponse", "JobEvent"),
                Arguments.of(API + "PageResponse", "MigrationPage"),
                Arguments.of(API + "ProblemAdvice$FieldError", "FieldError"),
                Arguments.of(API + "EventController$EventResponse", "Event"),
                Arguments.of(API + "EventController$GapResponse", "EventGap"),
                // a webhook's body is the stream's event: one schema holds both records to one shape
                Arguments.of("io.ferry.control.webhooks.WebhookPayload", "Event"),
                Arguments.of(API + "SubscriptionController$SubscriptionView", "Subscription"),
                Arguments.of(API + "SubscriptionController$FilterView", "SubscriptionFilter"),
                Arguments.of(API + "SubscriptionController$DeliveryView", "SubscriptionDelivery"),
                Arguments.of("io.ferry.control.events.Payloads$JobChanged", "JobChangedPayload"),
                Arguments.of("io.ferry.control.events.Payloads$JobProgressed", "JobProgressPayload"),
                Arguments.of("io.ferry.control.events.Payloads$GuestChanged", "GuestChangedPayload"),
                Arguments.of("io.ferry.control.events.Payloads$HostChanged", "HostChangedPayload"),
                Arguments.of("io.ferry.control.events.Payloads$OwnershipChanged", "OwnershipChangedPayload"),
                Arguments.of("io.ferry.channel.GuestChecksumsReport", "GuestChecksums"),
                Arguments.of(API + "SaveResponse", "GuestSave"),
                Arguments.of(API + "TokenController$TokenView", "Token"),
                Arguments.of(API + "TokenController$CreatedTokenView", "CreatedToken"),
                Arguments.of(API + "AuditController$AuditEntryView", "AuditEntry"),
                Arguments.of(API + "AuditController$AuditPage", "AuditPage"));
    }

    /** Jackson writes every record component (nulls included), so each is a required property and nothing else is. */
    @ParameterizedTest(name = "{1} = {0}")
    @MethodSource("responseRecords")
    void responseSchemasListExactlyTheRecordComponents(String recordClass, String schemaName) throws Exception {
        JsonNode schema = schema(schemaName);
        List<String> components = componentNames(Class.forName(recordClass));
        assertThat(schema.path("properties").propertyNames()).containsExactlyInAnyOrderElementsOf(components);
        assertThat(texts(schema.path("required"))).containsExactlyInAnyOrderElementsOf(components);
        assertThat(schema.path("additionalProperties").isBoolean() && !schema.path("additionalProperties").asBoolean())
                .as(schemaName + " forbids additional properties").isTrue();
    }

    static List<Arguments> requestRecords() {
        return List.of(
                Arguments.of(API + "GuestRequests$CreateGuest", "CreateGuestRequest"),
                Arguments.of(API + "GuestRequests$RamBlockBody", "RamBlockRequest"),
                Arguments.of(API + "GuestRequests$DiskBody", "DiskRequest"),
                Arguments.of(API + "GuestRequests$WorkloadBody", "WorkloadRequest"),
                Arguments.of(API + "GuestRequests$MeasureDirtyRate", "MeasureDirtyRateRequest"),
                Arguments.of(API + "MigrationRequests$CreateMigration", "CreateMigrationRequest"),
                Arguments.of(API + "MigrationRequests$Parameters", "MigrationParametersRequest"),
                Arguments.of(API + "MigrationRequests$Capabilities", "MigrationCapabilitiesRequest"),
                Arguments.of(API + "MigrationRequests$TuneMigration", "TuneMigrationRequest"),
                Arguments.of(API + "MigrationRequests$AbandonMigration", "AbandonMigrationRequest"),
                Arguments.of(API + "GuestController$LabelsBody", "LabelsRequest"),
                Arguments.of(API + "GuestSaveController$SaveBody", "SaveGuestRequest"),
                Arguments.of(API + "HostController$LabelsBody", "LabelsRequest"),
                Arguments.of("io.ferry.control.admission.LimitsRequest$ForHost", "HostLimitsRequest"),
                Arguments.of(API + "HostController$DrainBody", "DrainRequest"),
                Arguments.of(API + "HostController$RevokeCredentialBody", "RevokeCredentialRequest"),
                Arguments.of("io.ferry.control.admission.LimitsRequest", "AdmissionLimitsRequest"),
                Arguments.of("io.ferry.control.policy.PolicyRequest", "PolicyRequest"),
                Arguments.of("io.ferry.control.policy.PolicyRequest$RampStep", "DowntimeRampStepRequest"),
                Arguments.of(API + "SubscriptionController$SubscriptionBody", "CreateSubscriptionRequest"),
                Arguments.of(API + "SubscriptionController$FilterBody", "SubscriptionFilterRequest"),
                Arguments.of(API + "TokenController$TokenBody", "CreateTokenRequest"));
    }

    /** Request schemas mirror the Bean Validation annotations of the request records, constraint by constraint. */
    @ParameterizedTest(name = "{1} = {0}")
    @MethodSource("requestRecords")
    void requestSchemasMirrorTheBeanValidationAnnotations(String recordClass, String schemaName) throws Exception {
        Class<?> type = Class.forName(recordClass);
        JsonNode schema = schema(schemaName);
        assertThat(schema.path("properties").propertyNames()).containsExactlyInAnyOrderElementsOf(componentNames(type));
        Set<String> required = new HashSet<>(texts(schema.path("required")));
        for (RecordComponent component : type.getRecordComponents()) {
            String name = component.getName();
            Field field = type.getDeclaredField(name);
            JsonNode property = deref(schema.path("properties").path(name));
            String where = schemaName + "." + name;
            boolean mandatory = field.isAnnotationPresent(NotNull.class) || field.isAnnotationPresent(NotBlank.class);
            assertThat(required.contains(name)).as(where + " required").isEqualTo(mandatory);
            if (field.isAnnotationPresent(NotBlank.class)) {
                assertThat(property.path("minLength").asInt()).as(where + " minLength").isEqualTo(1);
            }
            Min min = field.getAnnotation(Min.class);
            PositiveOrZero positiveOrZero = field.getAnnotation(PositiveOrZero.class);
            Positive positive = field.getAnnotation(Positive.class);
            DecimalMin decimalMin = field.getAnnotation(DecimalMin.class);
            if (min != null || positiveOrZero != null) {
                assertThat(property.path("minimum").asLong()).as(where + " minimum")
                        .isEqualTo(min != null ? min.value() : 0L);
            } else if (positive != null) {
                assertThat(property.path("minimum").asLong()).as(where + " minimum (integers, @Positive)").isEqualTo(1L);
            } else if (decimalMin != null) {
                String keyword = decimalMin.inclusive() ? "minimum" : "exclusiveMinimum";
                assertThat(property.path(keyword).decimalValue()).as(where + " " + keyword)
                        .isEqualByComparingTo(new BigDecimal(decimalMin.value()));
            } else {
                assertThat(property.has("minimum") || property.has("exclusiveMinimum"))
                        .as(where + " has a lower bound without a constraint").isFalse();
            }
            Max max = field.getAnnotation(Max.class);
            DecimalMax decimalMax = field.getAnnotation(DecimalMax.class);
            if (max != null) {
                assertThat(property.path("maximum").asLong()).as(where + " maximum").isEqualTo(max.value());
            } else if (decimalMax != null) {
                String keyword = decimalMax.inclusive() ? "maximum" : "exclusiveMaximum";
                assertThat(property.path(keyword).decimalValue()).as(where + " " + keyword)
                        .isEqualByComparingTo(new BigDecimal(decimalMax.value()));
            } else {
                assertThat(property.has("maximum") || property.has("exclusiveMaximum"))
                        .as(where + " has an upper bound without a constraint").isFalse();
            }
            Size size = field.getAnnotation(Size.class);
            if (size != null) {
                boolean list = Collection.class.isAssignableFrom(field.getType());
                String minKeyword = list ? "minItems" : "minLength";
                String maxKeyword = list ? "maxItems" : "maxLength";
                if (size.min() > 0) {
                    assertThat(property.path(minKeyword).asInt()).as(where + " " + minKeyword).isEqualTo(size.min());
                }
                assertThat(property.path(maxKeyword).asInt()).as(where + " " + maxKeyword).isEqualTo(size.max());
            }
            Pattern pattern = field.getAnnotation(Pattern.class);
            if (pattern != null) {
                if (property.has("enum")) {
                    assertThat(texts(property.path("enum"))).as(where + " enum")
                            .containsExactlyInAnyOrder(pattern.regexp().split("\\|"));
                } else {
                    assertThat(property.path("pattern").asString()).as(where + " pattern")
                            .isEqualTo("^" + pattern.regexp() + "$");
                }
            }
        }
    }

    // ------------------------------------------------------------------ correct responses pass

    @Test
    void aGuestIsCreatedWithMemoryOrRestoredFromAFileNeverBoth() {
        String base = "\"name\":\"g\",\"hostId\":\"host-a\"";
        assertThat(contract.violations("CreateGuestRequest", "{" + base + ",\"memoryBytes\":16777216}")).isEmpty();
        assertThat(contract.violations("CreateGuestRequest", "{" + base + ",\"restoreFrom\":\"saves/x.ferry\","
                + "\"labels\":{\"a\":\"b\"}}")).isEmpty();
        assertThat(contract.violations("CreateGuestRequest", "{" + base + "}")).isNotEmpty();
        for (String field : List.of("\"memoryBytes\":16777216", "\"disks\":[]", "\"deviceStateBytes\":4096",
                "\"ramBlocks\":[{\"name\":\"pc.ram\",\"sizeBytes\":16777216}]")) {
            assertThat(contract.violations("CreateGuestRequest", "{" + base + ",\"restoreFrom\":\"saves/x\","
                    + field + "}")).as(field).isNotEmpty();
        }
        assertThat(contract.violations("SaveGuestRequest", "{}")).isEmpty();
        assertThat(contract.violations("SaveGuestRequest", "{\"format\":\"qemu\"}")).isEmpty();
        assertThat(contract.violations("SaveGuestRequest", "{\"format\":\"raw\"}")).isNotEmpty();
    }

    @Test
    void acceptsAHostList() {
        assertConforms("GET", "/api/v1/hosts", 200, JSON, "[" + HOST + "]");
        assertConforms("GET", "/api/v1/hosts", 200, JSON, "[]");
        assertConforms("GET", "/api/v1/hosts/host-a", 200, "application/json;charset=UTF-8", HOST);
    }

    @Test
    void acceptsAGuestWithDisksAndTheGuestList() {
        assertConforms("GET", "/api/v1/guests/" + GUEST_ID, 200, JSON, GUEST);
        assertConforms("GET", "/api/v1/guests", 200, JSON, "[" + GUEST + "]");
        assertConforms("GET", "/api/v1/guests/" + GUEST_ID, 200, JSON, GUEST.replace("\"synthetic\"", "\"qemu\"")
                .replace("\"running\",\"failure\":null", "\"failed\",\"failure\":\"QEMU (pid 7) exited unexpectedly with code 137\""));
        assertConforms("POST", "/api/v1/guests/" + GUEST_ID + "/pause", 200, JSON, GUEST.replace("\"running\"", "\"paused\""));
        assertThatCode(() -> contract.assertResponseConforms("POST", "/api/v1/guests", 201, JSON, GUEST,
                Map.of("Location", List.of("/api/v1/guests/" + GUEST_ID)))).doesNotThrowAnyException();
    }

    @Test
    void acceptsADirtyRateMeasurementStartedAndItsResultOnTheGuest() {
        assertThatCode(() -> contract.assertResponseConforms("POST", "/api/v1/guests/" + GUEST_ID + "/dirty-rate",
                202, JSON, MEASURING, Map.of("Location", List.of("/api/v1/guests/" + GUEST_ID))))
                .doesNotThrowAnyException();
        String measured = MEASURING.replace("\"measuring\"", "\"measured\"")
                .replace("\"measuredAt\":null", "\"measuredAt\":\"2026-01-02T03:04:06Z\"")
                .replace("\"measuredWindowMs\":null", "\"measuredWindowMs\":1000.4")
                .replace("\"sampledPages\":null", "\"sampledPages\":16")
                .replace("\"dirtyPagesPerSecond\":null", "\"dirtyPagesPerSecond\":1843.0")
                .replace("\"dirtyBytesPerSecond\":null", "\"dirtyBytesPerSecond\":7548928.0")
                .replace("\"zeroPageFraction\":null", "\"zeroPageFraction\":0.25");
        assertConforms("GET", "/api/v1/guests/" + GUEST_ID, 200, JSON,
                GUEST.replace("\"dirtyRate\":null", "\"dirtyRate\":" + measured));
        String failed = MEASURING.replace("\"measuring\"", "\"failed\"")
                .replace("\"reason\":null", "\"reason\":\"worker on 'host-a' refused: guest is incoming\"");
        assertConforms("GET", "/api/v1/guests", 200, JSON, "[" + GUEST.replace("\"dirtyRate\":null",
                "\"dirtyRate\":" + failed) + "]");
        assertConforms("POST", "/api/v1/guests/" + GUEST_ID + "/dirty-rate", 409, PROBLEM, """
                {"detail":"guest %s is already being measured","instance":"/api/v1/guests/%s/dirty-rate",
                 "status":409,"title":"Conflict"}""".formatted(GUEST_ID, GUEST_ID));
        assertViolation("GET", "/api/v1/guests/" + GUEST_ID, 200, JSON,
                GUEST.replace("\"dirtyRate\":null", "\"dirtyRate\":" + MEASURING.replace("measuring", "unstarted")),
                "unstarted");
    }

    @Test
    void acceptsAQueuedAndAFinishedMigrationJob() {
        assertConforms("GET", "/api/v1/migrations/" + JOB_ID, 200, JSON, QUEUED_JOB);
        String finished = QUEUED_JOB.replace("\"status\":\"queued\"", "\"status\":\"failed\"")
                .replace("\"failure\":null", "\"failure\":\"destination went away\"")
                .replace("\"startedAt\":null", "\"startedAt\":\"2026-01-02T03:04:06Z\"")
                .replace("\"finishedAt\":null", "\"finishedAt\":\"2026-01-02T03:04:07.5Z\"");
        assertConforms("POST", "/api/v1/migrations/" + JOB_ID + "/cancel", 200, JSON, finished);
        String converged = QUEUED_JOB.replace("\"status\":\"queued\"", "\"status\":\"completed\"")
                .replace("\"progress\":null,\"disks\"", """
                        "progress":{"setupTimeMs":3,"totalTimeMs":5120,"expectedDowntimeMs":40,"downtimeMs":52,
                         "ram":{"total":1073741824,"transferred":2147483648,"remaining":0,"duplicate":10,"normal":524288,
                          "normalBytes":2147483648,"dirtyPagesRate":1200,"mbps":3355.4,"dirtySyncCount":7,
                          "pagesPerSecond":102400,"iterations":7},
                         "disk":null,"postcopy":null,"verification":null,"dataPlane":{"tls":false,"protocol":null,
                          "cipher":null,"provider":null},
                         "convergence":{"throttle":{"percent":0,"raises":3,"throttledMs":2400},
                          "xbzrle":{"cacheSize":67108864,"bytes":1048576,"pages":20480,"cacheMiss":512,
                           "cacheMissRate":0.02,"encodingRate":80.5,"overflow":30,"bytesSaved":82837504},
                          "compression":null}},"disks\"""");
        assertConforms("GET", "/api/v1/migrations/" + JOB_ID, 200, JSON, converged);
        assertConforms("GET", "/api/v1/migrations?status=queued&guestId=" + GUEST_ID + "&page=0&size=20", 200, JSON,
                "{\"items\":[" + QUEUED_JOB + "],\"page\":0,\"size\":20,\"totalItems\":1,\"totalPages\":1,\"next\":null}");
        assertConforms("GET", "/api/v1/migrations?after=MTc2NzMyMzA0NTEyMzQ1Njo&size=1", 200, JSON,
                "{\"items\":[" + QUEUED_JOB + "],\"page\":null,\"size\":1,\"totalItems\":null,\"totalPages\":null,"
                + "\"next\":\"MTc2NzMyMzA0NTEyMzQ1Njo\"}");
        assertThatCode(() -> contract.assertResponseConforms("POST", "/api/v1/migrations", 202, JSON, QUEUED_JOB,
                Map.of("location", List.of("/api/v1/migrations/" + JOB_ID)))).doesNotThrowAnyException();
    }

    @Test
    void acceptsATimelineDiskOwnershipAndChecksums() {
        assertConforms("GET", "/api/v1/migrations/" + JOB_ID + "/events", 200, JSON, """
                [{"at":"2026-01-02T03:04:05.123456Z","kind":"transition","from":null,"to":"queued","reason":"waiting",
                  "actor":"api:operator"},
                 {"at":"2026-01-02T03:04:05.3Z","kind":"waiting","from":"queued","to":"queued",
                  "reason":"waiting for outbound limit of host-a: 2 of 2","actor":"system"},
                 {"at":"2026-01-02T03:04:06Z","kind":"transition","from":"queued","to":"cancelled",
                  "reason":"cancel requested by api:operator","actor":"api:operator"}]""");
        assertConforms("GET", "/api/v1/disks/" + DISK_ID, 200, JSON, DISK);
        assertConforms("GET", "/api/v1/disks/" + DISK_ID + "/ownership", 200, JSON, """
                {"diskId":"%s","ownerHostId":"host-a","state":"active","generation":1,
                 "updatedAt":"2026-01-02T03:04:05Z","history":[{"generation":1,"ownerHostId":"host-a","state":"active",
                 "fromOwnerHostId":null,"fromState":null,"jobId":null,
                 "reason":"disk created on host-a","actor":"api:operator","at":"2026-01-02T03:04:05Z"},
                 {"generation":2,"ownerHostId":"host-a","state":"handoff","fromOwnerHostId":"host-a","fromState":"active",
                 "jobId":"%s","reason":"source flushed and inactivated","actor":"worker:host-a",
                 "at":"2026-01-02T03:04:06Z"}]}"""
                .formatted(DISK_ID, JOB_ID));
        assertConforms("GET", "/api/v1/guests/" + GUEST_ID + "/checksums", 200, JSON, """
                {"guestId":"%s","memory":"ab12","ramBlocks":[{"name":"pc.ram","sizeBytes":4096,"sha256":"cd34"}],
                 "disks":[{"diskId":"%s","name":"root","sha256":"ef56"}],"deviceState":"0077",
                 "diskWritesAcknowledged":1200,"takenAt":"2026-01-02T03:04:05Z"}""".formatted(GUEST_ID, DISK_ID));
    }

    @Test
    void acceptsProblemsAsTheAdviceAndTheSecurityLayerWriteThem() {
        assertConforms("GET", "/api/v1/guests/" + GUEST_ID, 404, PROBLEM, """
                {"detail":"guest %s does not exist","instance":"/api/v1/guests/%s","status":404,"title":"Not found"}"""
                .formatted(GUEST_ID, GUEST_ID));
        assertConforms("GET", "/api/v1/hosts", 401, PROBLEM, """
                {"type":"about:blank","title":"Unauthorized","status":401,
                 "detail":"send 'Authorization: Bearer <token>'; the embedded control plane keeps its API token in <data-dir>/api-token"}""");
        assertConforms("DELETE", "/api/v1/guests/" + GUEST_ID, 403, PROBLEM, """
                {"type":"about:blank","title":"Forbidden","status":403,"detail":"this token may not use /api/v1/guests/x"}""");
        assertConforms("POST", "/api/v1/guests", 400, PROBLEM, """
                {"detail":"invalid request: memoryBytes must be greater than or equal to 16777216; name must not be blank",
                 "instance":"/api/v1/guests","status":400,"title":"Invalid request",
                 "errors":[{"field":"memoryBytes","message":"must be greater than or equal to 16777216"},
                           {"field":"name","message":"must not be blank"}]}""");
        assertConforms("POST", "/api/v1/migrations/" + JOB_ID + "/cancel", 409, PROBLEM, """
                {"detail":"illegal job transition from 'completed' to 'cancelling'","instance":"/api/v1/migrations/%s/cancel",
                 "status":409,"title":"Illegal job transition","currentStatus":"completed","requestedStatus":"cancelling"}"""
                .formatted(JOB_ID));
        assertConforms("POST", "/api/v1/migrations", 422, PROBLEM, """
                {"detail":"not supported by this version's migration engine: parameters.capabilities.compression with parameters.capabilities.xbzrle=true; XBZRLE (main stream) and compression (multifd channels) exclude each other, as in QEMU: ask for one",
                 "instance":"/api/v1/migrations","status":422,"title":"Unsupported migration feature",
                 "unsupported":["parameters.capabilities.compression with parameters.capabilities.xbzrle=true"]}""");
        assertConforms("POST", "/api/v1/guests/" + GUEST_ID + "/pause", 503, PROBLEM, """
                {"detail":"worker on 'host-a' (127.0.0.1:1) could not pause guest: connection refused",
                 "instance":"/api/v1/guests/%s/pause","status":503,"title":"Worker unavailable"}""".formatted(GUEST_ID));
    }

    @Test
    void acceptsHostsWithLabelsLimitsAndADrain() {
        assertConforms("GET", "/api/v1/hosts/host-a", 200, JSON, DRAINING_HOST);
        assertConforms("POST", "/api/v1/hosts/host-a/drain", 202, JSON, DRAINING_HOST);
        assertConforms("DELETE", "/api/v1/hosts/host-a/drain", 200, JSON, DRAINING_HOST
                .replace("\"state\":\"draining\"", "\"state\":\"cancelled\"")
                .replace("\"finishedAt\":null", "\"finishedAt\":\"2026-01-02T03:04:09Z\""));
        assertConforms("PUT", "/api/v1/hosts/host-a/labels", 200, JSON, HOST);
        assertConforms("PUT", "/api/v1/hosts/host-a/limits", 200, JSON, HOST);
        assertConforms("PUT", "/api/v1/guests/" + GUEST_ID + "/labels", 200, JSON, GUEST);
        assertConforms("POST", "/api/v1/hosts/host-a/drain", 409, PROBLEM, """
                {"detail":"host 'host-a' is already being drained","instance":"/api/v1/hosts/host-a/drain",
                 "status":409,"title":"Conflict"}""");
        assertConforms("DELETE", "/api/v1/hosts/host-a/drain", 404, PROBLEM, """
                {"detail":"host 'host-a' has no drain","instance":"/api/v1/hosts/host-a/drain","status":404,
                 "title":"Not found"}""");
    }

    @Test
    void acceptsAdmissionPoliciesAndAPreflight() {
        String limits = "{\"maxJobs\":5,\"maxOutboundPerHost\":2,\"maxInboundPerHost\":2,"
                + "\"hosts\":{\"host-a\":{\"maxOutbound\":4,\"maxInbound\":null}}}";
        assertConforms("GET", "/api/v1/admission", 200, JSON, """
                {"limits":%s,"running":2,"queue":[{"jobId":"%s","guestId":"%s","sourceHostId":"host-a",
                 "destinationHostId":"host-b","priority":"maintenance","waitingFor":null,
                 "createdAt":"2026-01-02T03:04:05Z"}]}""".formatted(limits, JOB_ID, GUEST_ID));
        assertConforms("PUT", "/api/v1/admission/limits", 200, JSON, limits);

        String policy = """
                {"name":"web","description":null,"guestSelector":{"tier":"web"},"hostSelector":{},
                 "destinationSelector":{},"maxBandwidth":null,"downtimeLimitMs":300,
                 "downtimeRamp":[{"afterSeconds":30,"downtimeLimitMs":600}],"completionTimeoutPerGiB":150,
                 "progressTimeout":null,"allowPostcopy":true,"storage":null,"priority":"user",
                 "escalation":["auto-converge","postcopy","abort"],"escalationGrace":null,"verifyChecksums":null,
                 "autoConverge":null,"xbzrle":true,"compression":null,"convergence":{"cpuThrottleInitial":null,
                 "cpuThrottleIncrement":null,"maxCpuThrottle":null,"cpuThrottleTailslow":null,
                 "xbzrleCacheSize":134217728,"compressionLevel":null},"specificity":1,
                 "createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z"}""";
        assertConforms("GET", "/api/v1/policies", 200, JSON, "[" + policy + "]");
        assertConforms("GET", "/api/v1/policies/web", 200, JSON, policy);
        assertThatCode(() -> contract.assertResponseConforms("POST", "/api/v1/policies", 201, JSON, policy,
                Map.of("Location", List.of("/api/v1/policies/web")))).doesNotThrowAnyException();
        assertConforms("PUT", "/api/v1/policies/web", 200, JSON, policy);
        assertConforms("DELETE", "/api/v1/policies/web", 204, null, "");

        assertConforms("POST", "/api/v1/migrations/preflight?dirtyRateWindowMs=500", 200, JSON, """
                {"accepted":true,"admissibleNow":false,"wouldWaitFor":"inbound limit of host-b: 2 of 2",
                 "plan":{"guestId":"%s","sourceHostId":"host-a","destinationHostId":"host-b","priority":"user",
                   "parameters":{"maxBandwidth":0,"downtimeLimitMs":300,"storage":"shared","verifyChecksums":false,
                     "capabilities":{"postcopy":true,"autoConverge":false,"xbzrle":false,"compression":"none",
                     "channels":1},"postcopyAfterIterations":0,"postcopyWhenNotConverging":false,
                     "maxPostcopyBandwidth":0,"convergence":{"cpuThrottleInitial":20,"cpuThrottleIncrement":10,
                     "maxCpuThrottle":99,"cpuThrottleTailslow":false,"xbzrleCacheSize":67108864,"compressionLevel":null}},
                   "policy":{"name":null,"completionTimeoutPerGiB":0,"progressTimeout":0,"escalation":[],
                     "escalationGrace":30,"downtimeRamp":[]},"memoryBytes":33554432,"transferBytes":33554432},
                 "failedChecks":[],
                 "forecast":{"verdict":"needs-postcopy","predictedTotalTimeMs":5120,"predictedDowntimeMs":0,
                   "rounds":2,"dirtyPagesPerSecond":2048.5,"dirtyBytesPerSecond":8390656.0,"dirtyRateWindowMs":500,
                   "sampledPages":512,"dirtyRateSource":"measured-now","bandwidthBytesPerSecond":1000000000,"bandwidthSource":"assumed link bandwidth"},
                 "forecastError":null}""".formatted(GUEST_ID));
        assertConforms("POST", "/api/v1/migrations/preflight", 200, JSON, """
                {"accepted":false,"admissibleNow":false,"wouldWaitFor":null,"plan":null,
                 "failedChecks":[{"check":"destination","detail":"destination host 'host-x' is unknown"}],
                 "forecast":null,"forecastError":"no plan: destination host 'host-x' is unknown"}""");
    }

    @Test
    void rejectsABadLabelAndAnUnknownEventKind() {
        assertViolation("GET", "/api/v1/hosts/host-a", 200, JSON, HOST.replace("\"zone\":\"a\"", "\"zone\":\"a b\""),
                "$/labels/zone");
        assertViolation("GET", "/api/v1/hosts/host-a", 200, JSON, HOST.replace("\"zone\":\"a\"", "\"-zone\":\"a\""),
                "$/labels");
        assertViolation("GET", "/api/v1/migrations/" + JOB_ID + "/events", 200, JSON, """
                [{"at":"2026-01-02T03:04:05Z","kind":"note","from":null,"to":"queued","reason":"x","actor":"system"}]""",
                "$/0/kind");
    }

    @Test
    void acceptsAnEmpty204() {
        assertConforms("DELETE", "/api/v1/guests/" + GUEST_ID, 204, null, "");
        assertConforms("DELETE", "/api/v1/guests/" + GUEST_ID, 204, null, null);
    }

    // ------------------------------------------------------------------ wrong responses fail

    @Test
    void rejectsAMissingRequiredProperty() {
        assertViolation("GET", "/api/v1/hosts/host-a", 200, JSON, HOST.replace("\"cpus\":8", "\"cpuCount\":8"),
                "required property 'cpus'", "cpuCount");
        assertViolation("GET", "/api/v1/migrations/" + JOB_ID, 200, JSON,
                QUEUED_JOB.replace(",\"failure\":null", ""), "required property 'failure'");
    }

    @Test
    void rejectsAWrongType() {
        assertViolation("GET", "/api/v1/hosts/host-a", 200, JSON,
                HOST.replace("\"memoryBytes\":17179869184", "\"memoryBytes\":\"16 GiB\""), "$/capacity/memoryBytes");
        assertViolation("GET", "/api/v1/hosts", 200, JSON, HOST, "array expected");
        assertViolation("GET", "/api/v1/migrations/" + JOB_ID, 200, JSON,
                QUEUED_JOB.replace("\"statusReason\":\"waiting\"", "\"statusReason\":null"), "$/statusReason");
    }

    @Test
    void rejectsAnExtraProperty() {
        assertViolation("GET", "/api/v1/guests/" + GUEST_ID, 200, JSON,
                GUEST.replace("{\"id\"", "{\"version\":3,\"id\""), "'version' is not defined");
        assertViolation("GET", "/api/v1/guests/" + GUEST_ID, 404, PROBLEM,
                "{\"title\":\"Not found\",\"status\":404,\"detail\":\"x\",\"timestamp\":\"2026-01-02T03:04:05Z\"}",
                "'timestamp' is not defined");
    }

    @Test
    void rejectsValuesOutsideTheDeclaredEnumsAndFormats() {
        assertViolation("GET", "/api/v1/migrations/" + JOB_ID, 200, JSON,
                QUEUED_JOB.replace("\"status\":\"queued\"", "\"status\":\"QUEUED\""), "$/status");
        assertViolation("GET", "/api/v1/migrations/" + JOB_ID, 200, JSON,
                QUEUED_JOB.replace("\"2026-01-02T03:04:05.123456Z\"", "1767323045"), "$/createdAt");
        assertViolation("GET", "/api/v1/guests/" + GUEST_ID, 200, JSON,
                GUEST.replace("\"activeMigrationId\":null", "\"activeMigrationId\":\"job-1\""), "$/activeMigrationId");
    }

    @Test
    void rejectsAProblemWhoseStatusDisagreesWithTheResponse() {
        assertViolation("GET", "/api/v1/guests/" + GUEST_ID, 404, PROBLEM,
                "{\"title\":\"Not found\",\"status\":409,\"detail\":\"x\",\"instance\":\"/api/v1/guests/x\"}", "$/status");
    }

    @Test
    void rejectsAnUndeclaredStatusCode() {
        assertViolation("GET", "/api/v1/hosts", 500, JSON, "{\"status\":500}", "status 500 is not declared");
        assertViolation("GET", "/api/v1/migrations?page=-1", 500, JSON, "{}", "status 500 is not declared");
        assertViolation("POST", "/api/v1/guests", 200, JSON, GUEST, "status 200 is not declared");
    }

    @Test
    void rejectsAnUndeclaredPathAndAnUndeclaredMethod() {
        assertViolation("GET", "/api/v1/volumes", 200, JSON, "[]", "matches no path");
        assertViolation("GET", "/api/v1/guests/" + GUEST_ID + "/disks", 200, JSON, "[]", "matches no path");
        assertViolation("PUT", "/api/v1/guests/" + GUEST_ID, 200, JSON, GUEST, "method PUT is not declared");
        assertViolation("DELETE", "/api/v1/migrations/" + JOB_ID, 204, null, "", "method DELETE is not declared");
    }

    @Test
    void rejectsAnUndeclaredContentTypeAMissingBodyAndAnUndeclaredBody() {
        assertViolation("GET", "/api/v1/guests/" + GUEST_ID, 404, JSON,
                "{\"title\":\"Not found\",\"status\":404,\"detail\":\"x\"}", "content type application/json is not declared");
        assertViolation("GET", "/api/v1/hosts", 200, "text/plain", "[]", "content type text/plain is not declared");
        assertViolation("GET", "/api/v1/hosts", 200, null, "[]", "no Content-Type");
        assertViolation("GET", "/api/v1/hosts", 200, JSON, "", "body is empty");
        assertViolation("GET", "/api/v1/hosts", 200, JSON, "[{", "not JSON");
        assertViolation("DELETE", "/api/v1/guests/" + GUEST_ID, 204, JSON, "{}", "declares no body");
    }

    @Test
    void rejectsAMissingLocationWhenHeadersAreChecked() {
        assertThatThrownBy(() -> contract.assertResponseConforms("POST", "/api/v1/migrations", 202, JSON, QUEUED_JOB,
                Map.of("Content-Type", List.of(JSON))))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("required response header Location is missing");
    }

    @Test
    void failuresNameTheOperationAndShowTheBody() {
        assertThatThrownBy(() -> contract.assertResponseConforms("GET", "/api/v1/hosts/host-a?x=1", 200, JSON,
                "{\"id\":7}"))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("GET /api/v1/hosts/{hostId} (getHost)")
                .hasMessageContaining("GET /api/v1/hosts/host-a?x=1 -> 200")
                .hasMessageContaining("body: {\"id\":7}")
                .hasMessageContaining("$/id")
                .hasMessageContaining("required property 'state'");
    }

    @Test
    void aSpecWithADanglingReferenceIsReported() {
        OpenApiContract broken = OpenApiContract.parse(java.nio.file.Path.of("broken.yaml"), """
                openapi: 3.1.0
                info: {title: t, version: '1'}
                paths:
                  /x:
                    get:
                      responses:
                        '200':
                          description: ok
                          content:
                            application/json:
                              schema: {$ref: '#/components/schemas/Missing'}
                """);
        assertThat(broken.unresolvedReferences())
                .containsExactly("/paths/~1x/get/responses/200/content/application~1json/schema -> #/components/schemas/Missing");
        assertThat(broken.operations()).containsExactly("GET /x");
    }

    // ------------------------------------------------------------------ samples

    private static final String GUEST_ID = "0f8e2f4c-7d41-4a3c-9a47-5b8e0c1d2e3f";
    private static final String DISK_ID = "5a6b7c8d-1e2f-4a5b-8c9d-0e1f2a3b4c5d";
    private static final String JOB_ID = "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f";

    private static final String HOST = """
            {"id":"host-a","state":"reachable","controlAddress":"127.0.0.1:7101","dataPlaneAddress":"127.0.0.1:7102",
             "datastoreId":"0b9e3c1e-6a55-4a43-9d1c-1f2e3d4c5b6a",
             "capacity":{"memoryBytes":17179869184,"allocatedMemoryBytes":33554432,"incomingMemoryBytes":0,
                         "freeMemoryBytes":17146314752,"cpus":8},
             "runtimes":[{"runtime":"synthetic","available":true,"detail":"built in"},
                         {"runtime":"qemu","available":false,"detail":"no qemu-system-x86_64 on PATH"}],
             "labels":{"zone":"a","example.com/rack":"r1"},"cordoned":false,"limits":{"maxOutbound":2,"maxInbound":2},
             "jobs":{"outbound":0,"inbound":0},"drain":null,
             "registeredAt":"2026-01-02T03:04:05.123456Z","lastHeartbeatAt":"2026-01-02T03:04:06Z"}""";

    private static final String DRAIN_ID = "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b";

    private static final String DRAINING_HOST = HOST.replace("\"cordoned\":false", "\"cordoned\":true")
            .replace("\"drain\":null", """
                    "drain":{"id":"%s","state":"draining","requestedBy":"api:operator","destinationSelector":{},
                     "maxAttempts":3,"guests":2,"guestsLeft":1,"jobsByStatus":{"completed":1,"queued":1},
                     "unplaceable":[],"failed":[],
                     "guestStates":[{"guestId":"%s","state":"moved","attempts":1,"jobId":"%s",
                                     "nextAttemptAt":"2026-01-02T03:04:05Z","cause":"moved to host-b by job %s"},
                                    {"guestId":"%s","state":"pending","attempts":0,"jobId":null,
                                     "nextAttemptAt":"2026-01-02T03:04:05Z","cause":null}],
                     "startedAt":"2026-01-02T03:04:05Z","finishedAt":null}"""
                    .formatted(DRAIN_ID, GUEST_ID, JOB_ID, JOB_ID, "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"));

    private static final String DISK = """
            {"id":"%s","guestId":"%s","name":"root","sizeBytes":1048576,
             "ownership":{"ownerHostId":"host-a","state":"active","generation":1,"updatedAt":"2026-01-02T03:04:05Z"},
             "createdAt":"2026-01-02T03:04:05Z"}""".formatted(DISK_ID, GUEST_ID);

    private static final String GUEST = """
            {"id":"%s","name":"web-1","hostId":"host-a","runtime":"synthetic","state":"running","failure":null,
             "memoryBytes":33554432,
             "ramBlocks":[{"name":"pc.ram","sizeBytes":25165824},{"name":"vga.vram","sizeBytes":8388608}],
             "deviceStateBytes":65536,
             "workload":{"dirtyPagesPerSecond":0,"hotSetFraction":1.0,"diskWritesPerSecond":0,"seed":-4962768465676381896},
             "disks":[%s],"activeMigrationId":null,"labels":{"tier":"web"},"dirtyRate":null,
             "createdAt":"2026-01-02T03:04:05Z"}""".formatted(GUEST_ID, DISK);

    private static final String MEASURING = """
            {"status":"measuring","mode":"dirty-bitmap","windowMs":1000,"samplePagesPerGiB":512,"hostId":"host-a",
             "startedAt":"2026-01-02T03:04:05Z","measuredAt":null,"measuredWindowMs":null,"sampledPages":null,
             "dirtyPagesPerSecond":null,"dirtyBytesPerSecond":null,"zeroPageFraction":null,"reason":null}""";

    private static final String QUEUED_JOB = ("{\"id\":\"%s\",\"guestId\":\"%s\",\"sourceHostId\":\"host-a\","
            + "\"destinationHostId\":\"host-b\",\"status\":\"queued\",\"statusReason\":\"waiting\",\"failure\":null,"
            + "\"priority\":\"user\",\"waitingFor\":\"outbound limit of host-a: 2 of 2\","
            + "\"parameters\":{\"maxBandwidth\":134217728,\"downtimeLimitMs\":300,\"storage\":\"shared\",\"verifyChecksums\":false,"
            + "\"capabilities\":{\"postcopy\":false,\"autoConverge\":false,\"xbzrle\":false,\"compression\":\"none\","
            + "\"channels\":1},\"postcopyAfterIterations\":0,\"postcopyWhenNotConverging\":false,\"maxPostcopyBandwidth\":0,"
            + "\"convergence\":{\"cpuThrottleInitial\":20,\"cpuThrottleIncrement\":10,\"maxCpuThrottle\":99,"
            + "\"cpuThrottleTailslow\":false,\"xbzrleCacheSize\":67108864,\"compressionLevel\":null}},"
            + "\"policy\":{\"name\":\"web\",\"completionTimeoutPerGiB\":150,\"progressTimeout\":150,"
            + "\"escalation\":[\"postcopy\",\"abort\"],\"escalationGrace\":30,"
            + "\"downtimeRamp\":[{\"afterSeconds\":30,\"downtimeLimitMs\":600}]},"
            + "\"deadlines\":{\"completion\":null,\"progress\":null,\"leastRemainingBytes\":null,\"escalationsTaken\":0,"
            + "\"nextEscalation\":\"postcopy\",\"nextEscalationAt\":null},\"progress\":null,\"disks\":[{\"diskId\":\"%s\",\"name\":\"root\","
            + "\"ownerHostId\":\"host-a\",\"ownershipState\":\"active\",\"generation\":1,\"sourceSide\":\"active\","
            + "\"destinationSide\":\"absent\"}],\"createdAt\":\"2026-01-02T03:04:05.123456Z\","
            + "\"driver\":null,\"drainId\":null,\"updatedAt\":\"2026-01-02T03:04:05.123456Z\",\"startedAt\":null,"
            + "\"finishedAt\":null}")
            .formatted(JOB_ID, GUEST_ID, DISK_ID);

    // ------------------------------------------------------------------ helpers

    private void assertConforms(String method, String path, int status, String contentType, String body) {
        assertThatCode(() -> contract.assertResponseConforms(method, path, status, contentType, body))
                .doesNotThrowAnyException();
    }

    private void assertViolation(String method, String path, int status, String contentType, String body,
                                 String... expected) {
        assertThatThrownBy(() -> contract.assertResponseConforms(method, path, status, contentType, body))
                .isInstanceOf(AssertionError.class)
                .hasMessageContainingAll(expected);
    }

    private interface OperationVisitor {
        void visit(String name, JsonNode operation);
    }

    private void forEachOperation(OperationVisitor visitor) {
        JsonNode paths = spec.path("paths");
        for (String path : paths.propertyNames()) {
            for (String method : paths.path(path).propertyNames()) {
                if (List.of("get", "put", "post", "delete", "patch", "head", "options", "trace").contains(method)) {
                    visitor.visit(method.toUpperCase() + " " + path, paths.path(path).path(method));
                }
            }
        }
    }

    private JsonNode deref(JsonNode node) {
        JsonNode current = node;
        while (current.has("$ref")) {
            current = spec.at(current.path("$ref").asString().substring(1));
        }
        return current;
    }

    private JsonNode schema(String name) {
        JsonNode schema = spec.path("components").path("schemas").path(name);
        assertThat(schema.isMissingNode()).as("schema " + name + " exists").isFalse();
        return schema;
    }

    private List<String> enumOf(String schemaName) {
        return texts(schema(schemaName).path("enum"));
    }

    private static List<String> texts(JsonNode array) {
        List<String> texts = new ArrayList<>();
        array.forEach(n -> texts.add(n.asString()));
        return texts;
    }

    private static <E> String[] apiNames(E[] values, Function<E, String> apiName) {
        return Arrays.stream(values).map(apiName).toArray(String[]::new);
    }

    private static List<String> componentNames(Class<?> recordClass) {
        assertThat(recordClass.isRecord()).as(recordClass + " is a record").isTrue();
        return Arrays.stream(recordClass.getRecordComponents()).map(RecordComponent::getName)
                .collect(Collectors.toList());
    }
}
