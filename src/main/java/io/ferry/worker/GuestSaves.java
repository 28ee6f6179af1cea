package io.ferry.worker;

import io.ferry.channel.ControlChannel;
import io.ferry.channel.ErrorReply;
import io.ferry.channel.GuestReport;
import io.ferry.channel.RamBlockLayout;
import io.ferry.channel.RestoreGuestCommand;
import io.ferry.channel.SaveFormat;
import io.ferry.channel.SaveGuestCommand;
import io.ferry.channel.SavedGuestReport;
import io.ferry.channel.SavedLayoutQuery;
import io.ferry.channel.SavedLayoutReport;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.snapshot.GuestSnapshotReader;
import io.ferry.snapshot.GuestSnapshotWriter;
import io.ferry.snapshot.QemuPcSave;
import io.ferry.snapshot.SavedGuestLayout;
import io.ferry.wire.MalformedStreamFileException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * Save and restore on the worker (issue 16, item 4), for {@link ControlCommands}:
 *
 * <ul>
 *   <li>{@code POST /v1/guests/{id}/save} ({@link SaveGuestCommand}): pauses the guest (it stays
 *       paused, as QEMU after a migration to a file) and writes it to a new file
 *       {@code saves/<guestId>-<UTC time>.<format>} under the datastore, never over another;
 *       answers with a {@link SavedGuestReport};</li>
 *   <li>{@code POST /v1/saves/layout} ({@link SavedLayoutQuery}): the guest a file holds, read
 *       from its head, without restoring it — the control plane checks the memory and names the
 *       new disks first;</li>
 *   <li>{@code POST /v1/saves/restore} ({@link RestoreGuestCommand}): the guest restored, paused,
 *       its disks under their new ids; all or nothing.</li>
 * </ul>
 *
 * A file is named by a path relative to the datastore: absolute paths and {@code ..} are refused
 * (400); a missing file or a malformed one is 422, the latter with the decoder's reason and the
 * byte offset.
 */
final class GuestSaves {

    private static final Logger log = LoggerFactory.getLogger(GuestSaves.class);
    static final String SAVES_DIR = "saves";
    private static final Pattern SAVE = Pattern.compile(ControlChannel.GUESTS + "/([0-9a-fA-F-]{36})/save");
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final long MIB = 1L << 20;

    private final GuestHost guests;
    private final JsonMapper json;
    private final Clock clock;

    GuestSaves(GuestHost guests, JsonMapper json, Clock clock) {
        this.guests = guests;
        this.json = json;
        this.clock = clock;
    }

    /** The reply to a save or restore command, or null if the request is none of them. */
    ControlCommands.Reply route(String method, String path, byte[] body) {
        if (!method.equals("POST")) {
            return null;
        }
        Matcher save = SAVE.matcher(path);
        if (save.matches()) {
            SaveGuestCommand command = body.length == 0 ? new SaveGuestCommand(null)
                    : json.readValue(body, SaveGuestCommand.class);
            return save(UUID.fromString(save.group(1)), command);
        }
        if (path.equals(ControlChannel.SAVES + "/layout")) {
            return layout(json.readValue(body, SavedLayoutQuery.class));
        }
        if (path.equals(ControlChannel.SAVES + "/restore")) {
            return restore(json.readValue(body, RestoreGuestCommand.class));
        }
        return null;
    }

    ControlCommands.Reply save(UUID guestId, SaveGuestCommand command) {
        SaveFormat format = command.format() == null ? SaveFormat.FERRY : command.format();
        SyntheticGuest guest = guests.guest(guestId);
        long memory = guest.memory().totalBytes();
        if (format == SaveFormat.QEMU && memory % MIB != 0) {
            return unprocessable("guest " + guestId + " has " + memory + " bytes of memory: a qemu save is for QEMU's pc "
                    + "machine, whose memory (-m) is a whole number of MiB");
        }
        GuestReport paused = guests.pause(guestId);   // 409 while a migration holds it
        try {
            Path dir = Files.createDirectories(guests.datastore().resolve(SAVES_DIR));
            String stem = guestId + "-" + STAMP.format(clock.instant());
            for (int attempt = 0; ; attempt++) {
                String name = stem + (attempt == 0 ? "" : "-" + attempt) + "." + format.apiName();
                Path file = dir.resolve(name);
                try {
                    long bytes = switch (format) {
                        case FERRY -> GuestSnapshotWriter.write(guest, file);
                        case QEMU -> QemuPcSave.write(guest, file);
                    };
                    log.info("guest {} saved to {} ({}, {} bytes)", guestId, file, format.apiName(), bytes);
                    return new ControlCommands.Reply(201,
                            new SavedGuestReport(guestId, SAVES_DIR + "/" + name, format, bytes, paused));
                } catch (FileAlreadyExistsException taken) {
                    if (attempt >= 100) {
                        throw taken;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save guest " + guestId, e);
        }
    }

    ControlCommands.Reply layout(SavedLayoutQuery query) {
        Path file = resolve(query.restoreFrom());
        if (!Files.isRegularFile(file)) {
            return missing(query.restoreFrom());
        }
        try {
            SavedGuestLayout layout = SavedGuestLayout.read(file);
            return new ControlCommands.Reply(200, new SavedLayoutReport(query.restoreFrom(),
                    layout.ramBlocks().stream().map(b -> new RamBlockLayout(b.idstr(), b.usedLength())).toList(),
                    layout.disks().stream().map(d -> new SavedLayoutReport.SavedDisk(d.diskId(), d.name(),
                            d.sizeBytes())).toList(),
                    layout.deviceStateBytes()));
        } catch (MalformedStreamFileException e) {
            return malformed(query.restoreFrom(), e);
        } catch (IOException e) {
            return unprocessable("cannot read '" + query.restoreFrom() + "': " + e);
        }
    }

    ControlCommands.Reply restore(RestoreGuestCommand command) {
        Path file = resolve(command.restoreFrom());
        if (!Files.isRegularFile(file)) {
            return missing(command.restoreFrom());
        }
        Map<String, String> newIds = new HashMap<>();
        Map<String, Long> generations = new LinkedHashMap<>();
        for (RestoreGuestCommand.RestoredDisk disk : command.disks()) {
            newIds.put(disk.savedDiskId(), disk.diskId().toString());
            generations.put(disk.diskId().toString(), disk.generation());
        }
        var w = command.workload();
        WorkloadSpec workload = new WorkloadSpec(w.dirtyPagesPerSecond(), w.hotSetFraction(),
                w.diskWritesPerSecond(), w.seed());
        SyntheticGuest guest;
        try {
            guest = GuestSnapshotReader.restore(file, command.guestId().toString(), guests.datastore(), workload,
                    generations, saved -> {
                        String id = newIds.get(saved);
                        if (id == null) {
                            throw new IllegalArgumentException("saved disk '" + saved + "' was given no new id");
                        }
                        return id;
                    });
        } catch (MalformedStreamFileException e) {
            return malformed(command.restoreFrom(), e);
        } catch (IOException e) {
            return unprocessable("cannot restore from '" + command.restoreFrom() + "': " + e);
        }
        try {
            return new ControlCommands.Reply(201, guests.adopt(guest));
        } catch (RuntimeException e) {
            try {
                guest.deleteImages();
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * The file {@code relative} names in the datastore.
     *
     * @throws IllegalArgumentException (400) unless it is a relative path that stays in the datastore
     */
    private Path resolve(String relative) {
        if (relative == null || relative.isBlank()) {
            throw new IllegalArgumentException("restoreFrom: name a file in the datastore, e.g. saves/<file>");
        }
        Path path = Path.of(relative);
        if (path.isAbsolute() || relative.startsWith("/") || relative.startsWith("\\")) {
            throw new IllegalArgumentException("restoreFrom: '" + relative + "' is absolute; name a file relative to "
                    + "the datastore, e.g. saves/<file>");
        }
        for (Path part : path) {
            if (part.toString().equals("..")) {
                throw new IllegalArgumentException("restoreFrom: '" + relative + "' leaves the datastore (..)");
            }
        }
        Path datastore = guests.datastore().toAbsolutePath().normalize();
        Path file = datastore.resolve(path).normalize();
        if (!file.startsWith(datastore) || file.equals(datastore)) {
            throw new IllegalArgumentException("restoreFrom: '" + relative + "' is not a file in the datastore");
        }
        return file;
    }

    private static ControlCommands.Reply missing(String relative) {
        return unprocessable("restoreFrom: no file '" + relative + "' in the datastore");
    }

    private static ControlCommands.Reply malformed(String relative, MalformedStreamFileException e) {
        return unprocessable("restoreFrom: '" + relative + "' is malformed at byte " + e.offset() + ": " + e.reason());
    }

    private static ControlCommands.Reply unprocessable(String why) {
        return new ControlCommands.Reply(422, new ErrorReply(why));
    }
}
