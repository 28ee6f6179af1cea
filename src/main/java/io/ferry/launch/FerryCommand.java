package io.ferry.launch;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line that runs this same Ferry in a new JVM (a subcommand and its arguments follow
 * it): this JVM's {@code java}, the given JVM options, then {@code -jar ferry.jar} when this JVM
 * runs the packaged jar, or {@code -cp <class path> io.ferry.FerryApplication} when it runs from
 * classes directories (Maven, a test, an IDE).
 */
public final class FerryCommand {

    private static final String MAIN_CLASS = "io.ferry.FerryApplication";

    private FerryCommand() {
    }

    /** This JVM's {@code java} executable (from {@code java.home} if the OS does not tell). */
    public static String java() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    public static List<String> of(List<String> jvmOptions) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java());
        cmd.addAll(jvmOptions);
        String classPath = System.getProperty("java.class.path");
        if (classPath.endsWith(".jar") && !classPath.contains(File.pathSeparator)) {
            cmd.addAll(List.of("-jar", classPath));          // the packaged (Spring Boot) ferry.jar
        } else {
            cmd.addAll(List.of("-cp", classPath, MAIN_CLASS));   // classes directories
        }
        return cmd;
    }
}
