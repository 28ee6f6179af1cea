package io.ferry.worker;

import io.ferry.channel.AbandonCommand;
import io.ferry.channel.ControlChannel;
import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.DirtyRateCommand;
import io.ferry.channel.ErrorReply;
import io.ferry.channel.MigrationStateReport;
import io.ferry.channel.StartIncomingCommand;
import io.ferry.channel.StartOutgoingCommand;
import io.ferry.channel.TuneMigrationCommand;
import io.ferry.channel.WorkerStatus;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

/**
 * The worker's side of the control channel, free of Netty: a request (method, path, body)
 * in, a status and a JSON-able reply out. Errors carry their scope: a bad command fails that
 * command only.
 */
final class ControlCommands {

    private static final Logger log = LoggerFactory.getLogger(ControlCommands.class);
    private static final Pattern GUEST = Pattern.compile(ControlChannel.GUESTS + "/([0-9a-fA-F-]{36})(/[a-z-]+)?");
    private static final Pattern MIGRATION_STATE = Pattern.compile(ControlChannel.MIGRATIONS + "/([0-9a-fA-F-]{36})");
    private static final Pattern MIGRATION = Pattern.compile(ControlChannel.MIGRATIONS + "/([0-9a-fA-F-]{36})/([a-z-]+)");

    record Reply(int status, Object body) {
    }

    private final String hostId;
    private final String instance;
    private final GuestHost guests;
    private final Migrations migrations;
    private final Worker worker;
    private final JsonMapper json = JsonMapper.builder().build();
    private final DriverFence drivers = new DriverFence();
    private final GuestSaves saves;

    ControlCommands(String hostId, String instance, GuestHost guests, Migrations migrations, Worker worker) {
        this.hostId = hostId;
        this.instance = instance;
        this.guests = guests;
        this.migrations = migrations;
        this.worker = worker;
        this.saves = new GuestSaves(guests, json, java.time.Clock.systemUTC());
    }

    JsonMapper json() {
        return json;
    }

    Reply handle(String method, String path, String query, byte[] body) {
        return handle(method, path, query, body, 0);
    }

    /** {@code driverEpoch}: the lease epoch of the replica that sent a job command (0: none, see {@link DriverFence}). */
    Reply handle(String method, String path, String query, byte[] body, long driverEpoch) {
        try {
            return route(method, path, query, body, driverEpoch);
        } catch (UnknownGuestException | Migrations.UnknownMigrationException e) {
            return new Reply(404, new ErrorReply(e.getMessage()));
        } catch (IllegalStateException e) {
            return new Reply(409, new ErrorReply(e.getMessage()));
        } catch (IllegalArgumentException | JacksonException e) {
            return new Reply(400, new ErrorReply(e.getMessage()));
        } catch (RuntimeRefusedException e) {
            return new Reply(422, new ErrorReply(e.getMessage()));
        } catch (OutOfMemoryError e) {
            return new Reply(422, new ErrorReply("cannot allocate guest memory: " + e.getMessage()));
        } catch (RuntimeException e) {
            log.error("{} {} failed", method, path, e);
            return new Reply(500, new ErrorReply(e.toString()));
        }
    }

    private Reply route(String method, String path, String query, byte[] body, long driverEpoch) {
        if (path.equals(ControlChannel.STATUS) && method.equals("GET")) {
            return new Reply(200, new WorkerStatus(hostId, instance, worker.dataAddress(),
                    ProcessHandle.current().pid(), guests.reports(), guests.diskFences()));
        }
        if (path.equals(ControlChannel.GUESTS) && method.equals("POST")) {
            return new Reply(201, guests.create(json.readValue(body, CreateGuestCommand.class)));
        }
        if (path.equals(ControlChannel.MIGRATIONS + "/incoming") && method.equals("POST")) {
            StartIncomingCommand command = json.readValue(body, StartIncomingCommand.class);
            drivers.admit(command.jobId(), driverEpoch);
            migrations.startIncoming(command);
            return new Reply(201, null);
        }
        if (path.equals(ControlChannel.MIGRATIONS + "/outgoing") && method.equals("POST")) {
            StartOutgoingCommand command = json.readValue(body, StartOutgoingCommand.class);
            drivers.admit(command.jobId(), driverEpoch);
            migrations.startOutgoing(command);
            return new Reply(202, null);
        }
        Matcher known = MIGRATION_STATE.matcher(path);
        if (known.matches() && method.equals("GET")) {
            UUID jobId = UUID.fromString(known.group(1));
            return new Reply(200, new MigrationStateReport(jobId, instance, migrations.knowledge(jobId)));
        }
        Matcher mm = MIGRATION.matcher(path);
        if (mm.matches() && method.equals("POST")) {
            UUID jobId = UUID.fromString(mm.group(1));
            drivers.admit(jobId, driverEpoch);
            switch (mm.group(2)) {
                case "cancel" -> {
                    return migrations.cancel(jobId) ? new Reply(202, null)
                            : new Reply(409, new ErrorReply("switchover of " + jobId
                            + " has begun: the destination may already run the guest, so it can no longer be cancelled"));
                }
                case "postcopy" -> {
                    migrations.startPostcopy(jobId);
                    return new Reply(202, null);
                }
                case "force-complete" -> {
                    migrations.forceComplete(jobId);
                    return new Reply(202, null);
                }
                case "recover" -> {
                    migrations.recover(jobId);
                    return new Reply(202, null);
                }
                case "abandon" -> {
                    try {
                        return new Reply(200, migrations.abandon(jobId, json.readValue(body, AbandonCommand.class)));
                    } catch (java.util.concurrent.TimeoutException notYet) {
                        return new Reply(503, new ErrorReply("migration " + jobId + " is being abandoned, but its "
                                + "migration thread has not taken the guest back yet: repeat the command"));
                    } catch (InterruptedException stopping) {
                        Thread.currentThread().interrupt();
                        return new Reply(503, new ErrorReply("worker is stopping"));
                    }
                }
                case "tune" -> {
                    migrations.tune(jobId, json.readValue(body, TuneMigrationCommand.class));
                    return new Reply(200, null);
                }
                default -> {
                    // 404 below
                }
            }
        }
        ControlCommands.Reply saved = saves.route(method, path, body);
        if (saved != null) {
            return saved;
        }
        Matcher m = GUEST.matcher(path);
        if (m.matches()) {
            UUID id = UUID.fromString(m.group(1));
            String action = m.group(2) == null ? "" : m.group(2);
            switch (method + " " + action) {
                case "DELETE " -> {
                    guests.destroy(id, query != null && query.contains("deleteImages=true"));
                    return new Reply(204, null);
                }
                case "POST /pause" -> {
                    return new Reply(200, guests.pause(id));
                }
                case "POST /resume" -> {
                    return new Reply(200, guests.resume(id));
                }
                case "GET /checksums" -> {
                    return new Reply(200, guests.checksums(id));
                }
                case "POST /dirty-rate" -> {
                    DirtyRateCommand command = body.length == 0 ? new DirtyRateCommand(null, null, null)
                            : json.readValue(body, DirtyRateCommand.class);
                    try {
                        return new Reply(200, guests.dirtyRate(id, command));
                    } catch (InterruptedException stopping) {
                        Thread.currentThread().interrupt();
                        return new Reply(503, new ErrorReply("worker is stopping"));
                    }
                }
                default -> {
                    // fall through to 404 below
                }
            }
        }
        return new Reply(404, new ErrorReply("no command " + method + " " + path));
    }
}
