package io.ferry.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** Keeps the doors between the rooms of style.md shut. */
@AnalyzeClasses(packages = "io.ferry", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    @ArchTest
    static final ArchRule controlPlaneNeverTouchesGuestBytes = noClasses()
            .that().resideInAPackage("io.ferry.control..")
            .should().dependOnClassesThat().resideInAnyPackage("io.ferry.worker..", "io.ferry.migration..",
                    "io.ferry.wire..", "io.ferry.guest..", "io.netty..");

    @ArchTest
    static final ArchRule dataPlaneKnowsNoSpringNorJpa = noClasses()
            .that().resideInAnyPackage("io.ferry.worker..", "io.ferry.migration..", "io.ferry.wire..",
                    "io.ferry.guest..", "io.ferry.channel..")
            .should().dependOnClassesThat().resideInAnyPackage("org.springframework..", "jakarta.persistence..",
                    "org.hibernate..", "io.ferry.control..");

    @ArchTest
    static final ArchRule guestKnowsNothingOfHosting = noClasses()
            .that().resideInAPackage("io.ferry.guest..")
            .should().dependOnClassesThat().resideInAnyPackage("io.ferry.worker..", "io.ferry.channel..",
                    "io.ferry.migration..", "io.ferry.wire..");

    @ArchTest
    static final ArchRule wireKnowsNoSockets = noClasses()
            .that().resideInAPackage("io.ferry.wire..")
            .should().dependOnClassesThat().resideInAnyPackage("io.netty.channel..", "java.net..",
                    "io.ferry.migration..", "io.ferry.worker..")
            .allowEmptyShould(true);   // the wire codec arrives with the pre-copy engine

    /** ferry inspect reads files through the wire codec alone: no engine, no worker, no Spring, no sockets. */
    @ArchTest
    static final ArchRule inspectReadsFilesThroughTheWireCodecOnly = noClasses()
            .that().resideInAPackage("io.ferry.inspect..")
            .should().dependOnClassesThat().resideInAnyPackage("io.ferry.migration..", "io.ferry.worker..",
                    "io.ferry.control..", "io.ferry.guest..", "io.netty.channel..", "java.net..",
                    "org.springframework..");

    @ArchTest
    static final ArchRule onlyDispatchTalksToWorkers = noClasses()
            .that().resideInAPackage("io.ferry.control..")
            .and().resideOutsideOfPackage("io.ferry.control.dispatch..")
            .should().dependOnClassesThat().haveSimpleName("RestClient");

    /** Rooms depend on each other one way: no cycle between Ferry's packages, at any depth. */
    @ArchTest
    static final ArchRule noPackageCycles = slices().matching("io.ferry.(**)").should().beFreeOfCycles();

    /**
     * The engine's test wiring (a loopback pair of sides and an in-memory ownership record) is for
     * tests and the benchmarks; a worker's production path never reaches it. Its one production
     * door is {@code EngineWarmUp}, below.
     */
    @ArchTest
    static final ArchRule loopbackWiringStaysOutOfProductionPaths = noClasses()
            .that().resideInAnyPackage("io.ferry.worker..", "io.ferry.control..", "io.ferry.migration.outgoing..",
                    "io.ferry.migration.incoming..", "io.ferry.migration.transport..")
            .should().dependOnClassesThat().haveSimpleName("LoopbackMigration")
            .orShould().dependOnClassesThat().haveSimpleName("LocalOwnership");

    /**
     * The engine's warm-up (a throw-away loopback migration) runs only from the worker's launch,
     * before the worker exists: nothing that serves a job can reach the loopback wiring through it.
     */
    @ArchTest
    static final ArchRule warmUpOnlyAtWorkerLaunch = noClasses()
            .that().resideInAnyPackage("io.ferry.worker..", "io.ferry.control..", "io.ferry.migration.outgoing..",
                    "io.ferry.migration.incoming..", "io.ferry.migration.transport..")
            .and().doNotHaveSimpleName("WorkerCommand")
            .should().dependOnClassesThat().haveSimpleName("EngineWarmUp");
}
