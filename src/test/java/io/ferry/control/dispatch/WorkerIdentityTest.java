package io.ferry.control.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.control.system.WorkerPrincipal;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The decisions of {@link WorkerIdentity}: who may speak for which host, job and guest. */
class WorkerIdentityTest {

    private static final UUID JOB = UUID.fromString("00000000-0000-0000-0000-00000000000a");
    private static final UUID GUEST = UUID.fromString("00000000-0000-0000-0000-00000000000b");

    private static WorkerPrincipal caller(String host) {
        return host.equals("bootstrap") ? WorkerPrincipal.of(null) : new WorkerPrincipal(host);
    }

    @ParameterizedTest(name = "{0} for {1}, registration {2}: allowed {3}")
    @CsvSource({
            "host-a,    host-a, false, true",
            "host-a,    host-a, true,  true",
            "host-b,    host-a, false, false",
            "host-b,    host-a, true,  false",
            "bootstrap, host-a, true,  true",
            "bootstrap, host-a, false, false",
    })
    void aWorkerSpeaksForItsOwnHostOnly(String caller, String host, boolean registration, boolean allowed) {
        String refusal = WorkerIdentity.hostRefusal(caller(caller), host, registration);
        assertThat(refusal == null).as(refusal).isEqualTo(allowed);
    }

    @ParameterizedTest(name = "{0} on a job {1} → {2}: allowed {3}")
    @CsvSource({
            "host-a,    host-a, host-b, true",
            "host-b,    host-a, host-b, true",
            "host-c,    host-a, host-b, false",
            "bootstrap, host-a, host-b, false",
    })
    void aWorkerReportsAndStepsOnlyJobsOfItsHost(String caller, String source, String destination, boolean allowed) {
        String refusal = WorkerIdentity.jobRefusal(caller(caller), JOB, source, destination);
        assertThat(refusal == null).as(refusal).isEqualTo(allowed);
        if (!allowed) {
            assertThat(refusal).contains(caller.equals("bootstrap") ? "may only register" : JOB.toString());
        }
    }

    @ParameterizedTest(name = "{0} reports a guest on {1}, latest job {2} → {3}: allowed {4}")
    @CsvSource({
            "host-a, host-a,       ,       , true",    // its own guest
            "host-b, host-a, host-a, host-b, true",    // the incoming guest of a job into it
            "host-a, host-b, host-a, host-b, true",    // the source, just after the hand-over
            "host-c, host-a, host-a, host-b, false",   // a bystander
            "host-c, host-a,       ,       , false",   // a guest that never moved
            "host-c, host-a, host-c, host-b, true",    // the source of its latest job, which may still be letting go
    })
    void aWorkerReportsOnlyGuestsOnItsHostOrMovingToOrFromIt(String caller, String recorded, String source,
                                                             String destination, boolean allowed) {
        String refusal = WorkerIdentity.guestRefusal(caller(caller), GUEST, recorded, source, destination);
        assertThat(refusal == null).as(refusal).isEqualTo(allowed);
        if (!allowed) {
            assertThat(refusal).contains(GUEST.toString()).contains(recorded);
        }
    }
}
