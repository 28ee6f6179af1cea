package io.ferry.launch;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The class-data sharing relaunch of {@code serve}: it only ever replaces the process by the same JVM with the
 * same options and arguments plus the archive, only from a complete cache made for this very jar and JVM, and
 * never where the operator decides about CDS or started the JVM some other way. (How much faster it starts is
 * measured by {@code ferry bench-start}, never asserted here.)
 */
class StartCacheTest {

    @TempDir
    Path dir;

    private StartCache cacheOf(Path jar) {
        return StartCache.of(jar).orElseThrow();
    }

    private Path jar() throws Exception {
        Path jar = dir.resolve("ferry.jar");
        Files.write(jar, new byte[] {1, 2, 3});
        return jar;
    }

    private static void complete(StartCache cache) throws Exception {
        Files.createDirectories(cache.extractedJar().getParent());
        Files.writeString(cache.extractedJar(), "thin jar");
        Files.writeString(cache.archive(), "archive");
        Files.writeString(cache.directory().resolve("complete"), "done");
    }

    @Test
    void relaunchKeepsTheJvmOptionsAndArgumentsAndAddsTheArchive() throws Exception {
        StartCache cache = cacheOf(jar());
        List<String> cmd = cache.relaunchCommand(List.of("/usr/bin/java", "-Xmx512m", "-Dx=y", "-jar", "ferry.jar",
                "serve", "--server.port=9090"), new String[] {"serve", "--server.port=9090"}).orElseThrow();
        assertThat(cmd).containsExactly("/usr/bin/java", "-Xmx512m", "-Dx=y",
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-XX:SharedArchiveFile=" + cache.archive(), "-Xshare:auto",
                "-D" + StartCache.ARCHIVE_PROPERTY + "=" + cache.archive(),
                "-jar", cache.extractedJar().toString(), "serve", "--server.port=9090");
    }

    @Test
    void anOperatorsCompilerOrCollectorChoiceIsKept() throws Exception {
        StartCache cache = cacheOf(jar());
        List<String> tiered = cache.relaunchCommand(List.of("java", "-XX:TieredStopAtLevel=4", "-jar", "ferry.jar",
                "serve"), new String[] {"serve"}).orElseThrow();
        assertThat(tiered).contains("-XX:TieredStopAtLevel=4", "-XX:+UseSerialGC")
                .doesNotContain("-XX:TieredStopAtLevel=1");
        List<String> g1 = cache.relaunchCommand(List.of("java", "-XX:+UseG1GC", "-XX:-TieredCompilation", "-jar",
                "ferry.jar", "serve"), new String[] {"serve"}).orElseThrow();
        assertThat(g1).contains("-XX:+UseG1GC", "-XX:-TieredCompilation")
                .doesNotContain("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    }

    @Test
    void noRelaunchWhereTheOperatorChoosesCdsOrTheJvmWasNotStartedWithJar() throws Exception {
        StartCache cache = cacheOf(jar());
        for (String option : List.of("-Xshare:off", "-XX:SharedArchiveFile=/x.jsa", "-XX:ArchiveClassesAtExit=/x.jsa",
                "-XX:+AutoCreateSharedArchive")) {
            assertThat(cache.relaunchCommand(List.of("java", option, "-jar", "ferry.jar", "serve"),
                    new String[] {"serve"})).as(option).isEmpty();
        }
        assertThat(cache.relaunchCommand(List.of("java", "-cp", "ferry.jar", "io.ferry.FerryApplication", "serve"),
                new String[] {"serve"})).isEmpty();
    }

    @Test
    void onlyACompleteCacheIsReady() throws Exception {
        StartCache cache = cacheOf(jar());
        assertThat(cache.ready()).isFalse();
        Files.createDirectories(cache.extractedJar().getParent());
        Files.writeString(cache.extractedJar(), "thin jar");
        Files.writeString(cache.archive(), "archive");
        assertThat(cache.ready()).as("no marker: a training run still going, or one that died").isFalse();
        Files.writeString(cache.directory().resolve("complete"), "done");
        assertThat(cache.ready()).isTrue();
    }

    @Test
    void aRebuiltJarDoesNotUseTheCacheOfTheOldOne() throws Exception {
        Path jar = jar();
        StartCache old = cacheOf(jar);
        complete(old);
        Files.write(jar, new byte[] {1, 2, 3, 4});
        Files.setLastModifiedTime(jar, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 2000));
        StartCache rebuilt = cacheOf(jar);
        assertThat(rebuilt.directory()).isNotEqualTo(old.directory());
        assertThat(rebuilt.ready()).isFalse();
        assertThat(cacheOf(jar).directory()).as("the key is stable for one jar and JVM").isEqualTo(rebuilt.directory());
    }

    @Test
    void fromClassesDirectoriesThereIsNothingToRelaunch() {
        // tests (and IDEs) run from target/classes: serve starts in-process as it always did
        assertThat(StartCache.ofRunningJar()).isEmpty();
    }
}
