package io.ferry.inspect;

import io.ferry.wire.MalformedStreamFileException;
import io.ferry.inspect.StreamSummary.DeviceSection;
import io.ferry.inspect.StreamSummary.Disk;
import io.ferry.inspect.StreamSummary.IterativeSection;
import io.ferry.inspect.StreamSummary.RamBlock;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/** {@code ferry inspect FILE [--json] [--extract DIR]}. Exit 0: read; 1: malformed; 2: cannot read or write. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Print what a saved migration stream (QEMU stream version 3, QEMU's or Ferry's) holds: header, "
                + "machine, RAM blocks, records by flag, sections, disks, the vmdesc JSON.")
public final class InspectCommand implements Callable<Integer> {

    static final int MALFORMED = 1;
    static final int UNREADABLE = 2;

    @Parameters(index = "0", paramLabel = "FILE", description = "The stream file.")
    private Path file;

    @Option(names = "--json", description = "Print the summary as JSON.")
    private boolean json;

    @Option(names = "--extract", paramLabel = "DIR",
            description = "Write each RAM block to DIR/<name>.ram and each disk to DIR/<name>.img (sparse; "
                    + "existing files are not overwritten).")
    private Path extractTo;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!Files.isRegularFile(file)) {
            err.println(file + ": no such file");
            return UNREADABLE;
        }
        StreamSummary summary;
        try {
            summary = new StreamInspector().inspect(file, extractTo);
        } catch (MalformedStreamFileException e) {
            err.println(file + ": malformed at byte " + e.offset() + ": " + e.reason());
            return MALFORMED;
        } catch (NoSuchFileException e) {
            err.println(e.getFile() + ": no such file or directory");
            return UNREADABLE;
        } catch (IOException e) {
            err.println(file + ": " + e.getMessage());
            return UNREADABLE;
        }
        if (json) {
            out.println(JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build()
                    .writeValueAsString(summary));
        } else {
            print(summary, out);
        }
        out.flush();
        return 0;
    }

    private void print(StreamSummary s, PrintWriter out) {
        out.printf("file        %s, %s%n", file, bytes(s.fileBytes()));
        out.printf("stream      %s version %d, machine %s%n", magic(s.header().magic()), s.header().version(),
                s.machineType());
        out.printf("RAM blocks  %d, %s%n", s.ramBlocks().size(),
                bytes(s.ramBlocks().stream().mapToLong(RamBlock::bytes).sum()));
        int width = s.ramBlocks().stream().mapToInt(b -> b.name().length()).max().orElse(0);
        for (RamBlock block : s.ramBlocks()) {
            out.printf("  %-" + width + "s  %-22s  %8d PAGE  %8d ZERO%s%n", block.name(), bytes(block.bytes()),
                    block.pages(), block.zeroPages(),
                    block.xbzrlePages() == 0 ? "" : String.format("  %8d XBZRLE", block.xbzrlePages()));
        }
        out.printf("records     %s%n", s.ramRecords().entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")));
        if (!s.commands().isEmpty()) {
            out.printf("commands    %s%n", s.commands().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                    .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")));
        }
        out.printf("sections    %d iterative, %d device%n", s.iterativeSections().size(), s.deviceSections().size());
        int nameWidth = Math.max(4, s.deviceSections().stream().mapToInt(d -> d.name().length()).max().orElse(0));
        out.printf("  %4s  %-5s  %-" + nameWidth + "s  %8s  %7s  %s%n", "id", "kind", "name", "instance", "version",
                "bytes");
        for (IterativeSection section : s.iterativeSections()) {
            out.printf("  %4d  %-5s  %-" + nameWidth + "s  %8d  %7d  %d (%s)%n", section.id(), "iter",
                    section.name(), 0, section.version(), section.bytes(), section.sections().entrySet().stream()
                            .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")));
        }
        for (DeviceSection section : s.deviceSections()) {
            out.printf("  %4d  %-5s  %-" + nameWidth + "s  %8d  %7d  %d%n", section.id(), section.kind(),
                    section.name(), section.instance(), section.version(), section.bytes());
        }
        if (!s.disks().isEmpty()) {
            out.printf("disks       %d%n", s.disks().size());
            for (Disk disk : s.disks()) {
                out.printf("  %s  %s in %d chunks (%d zero)%n", disk.name(), bytes(disk.bytes()), disk.chunks(),
                        disk.zeroChunks());
            }
        }
        out.printf("EOF         at byte %d%n", s.eofOffset());
        if (s.vmDescription() == null) {
            out.println("vmdesc      none");
        } else {
            out.printf("vmdesc      at byte %d, %d bytes of JSON, %d devices described%n", s.vmDescription().offset(),
                    s.vmDescription().bytes(), s.vmDescription().json().path("devices").size());
        }
        for (String extracted : s.extractedFiles()) {
            out.printf("extracted   %s%n", extracted);
        }
    }

    private static String magic(int magic) {
        String text = new String(new byte[] {(byte) (magic >>> 24), (byte) (magic >>> 16), (byte) (magic >>> 8),
                (byte) magic}, java.nio.charset.StandardCharsets.US_ASCII);
        return String.format("0x%08x (%s)", magic, text);
    }

    /** Bytes, with binary units when a whole number of them. */
    static String bytes(long n) {
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        String human = "";
        for (int u = units.length; u >= 1; u--) {
            long unit = 1L << (10 * u);
            if (n >= unit) {
                human = n % unit == 0 ? " (" + n / unit + " " + units[u - 1] + ")"
                        : String.format(" (%.1f %s)", (double) n / unit, units[u - 1]);
                break;
            }
        }
        return n + " bytes" + human;
    }
}
