package io.ferry.control.system;

import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Component;

/**
 * The audit log ({@code audit_log}): one row per state-changing API request, with who asked,
 * with which credential and role, what, from where, when, and the answer. Rows are only ever
 * added, and removed by retention ({@link AuditPruner}). Listed newest first by id, one page at
 * a time from a cursor, like the job list.
 */
@Component
public class AuditLog {

    /** Long request paths are cut here (the column's width). */
    static final int MAX_PATH = 2048;

    private final JdbcTemplate jdbc;

    AuditLog(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** How a request ended, from its status. */
    public enum Outcome {
        SUCCEEDED("succeeded"),
        UNAUTHENTICATED("unauthenticated"),
        FORBIDDEN("forbidden"),
        REFUSED("refused"),
        FAILED("failed");

        private final String apiName;

        Outcome(String apiName) {
            this.apiName = apiName;
        }

        public String apiName() {
            return apiName;
        }

        static Outcome of(int status) {
            if (status == 401) {
                return UNAUTHENTICATED;
            }
            if (status == 403) {
                return FORBIDDEN;
            }
            if (status >= 500) {
                return FAILED;
            }
            return status >= 400 ? REFUSED : SUCCEEDED;
        }

        public static Outcome fromApiName(String name) {
            for (Outcome o : values()) {
                if (o.apiName.equals(name)) {
                    return o;
                }
            }
            throw new IllegalArgumentException("'" + name + "' is not an outcome (succeeded, unauthenticated, "
                    + "forbidden, refused, failed)");
        }
    }

    /** One row. {@code actor} is null when no credential named anyone; {@code role} when none was held. */
    public record Entry(Long id, Instant at, String actor, String credential, String role, String method, String path,
                        String target, String remoteAddress, int status, Outcome outcome) {
    }

    /** The filters of a listing; null leaves one out. {@code target} matches the target and everything below it. */
    public record Query(String actor, String target, Instant from, Instant to, Integer status, Outcome outcome) {
    }

    public record Page(List<Entry> items, String next) {
    }

    void record(Entry e) {
        jdbc.update("insert into audit_log (at, actor, credential, role, method, path, target, remote_address, status, "
                        + "outcome) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", at(e.at()), cut(e.actor(), 200),
                e.credential(), e.role(), cut(e.method(), 16), cut(e.path(), MAX_PATH), cut(e.target(), MAX_PATH),
                cut(e.remoteAddress(), 64), e.status(), e.outcome().apiName());
    }

    /** Newest first; {@code after} is the {@code next} of the page before (null: the first page). */
    public Page page(Query q, String after, int size) {
        StringBuilder sql = new StringBuilder("select * from audit_log where 1 = 1");
        List<Object> args = new ArrayList<>();
        if (after != null) {
            sql.append(" and id < ?");
            args.add(decode(after));
        }
        if (q.actor() != null) {
            sql.append(" and actor = ?");
            args.add(q.actor());
        }
        if (q.target() != null) {
            sql.append(" and (target = ? or target like ? escape '!')");
            args.add(q.target());
            args.add(q.target().replace("!", "!!").replace("%", "!%").replace("_", "!_") + "/%");
        }
        if (q.from() != null) {
            sql.append(" and at >= ?");
            args.add(at(q.from()));
        }
        if (q.to() != null) {
            sql.append(" and at < ?");
            args.add(at(q.to()));
        }
        if (q.status() != null) {
            sql.append(" and status = ?");
            args.add(q.status());
        }
        if (q.outcome() != null) {
            sql.append(" and outcome = ?");
            args.add(q.outcome().apiName());
        }
        sql.append(" order by id desc limit ?");
        args.add(size + 1);
        List<Entry> rows = jdbc.query(sql.toString(), ROW, args.toArray());
        if (rows.size() <= size) {
            return new Page(rows, null);
        }
        List<Entry> items = rows.subList(0, size);
        return new Page(List.copyOf(items), encode(items.get(size - 1).id()));
    }

    /** Deletes the rows before {@code cutoff}; returns how many. */
    public int pruneBefore(Instant cutoff) {
        return jdbc.update("delete from audit_log where at < ?", at(cutoff));
    }

    /** A cursor is opaque: base64url (no padding) of {@code audit:<id>}. */
    static String encode(long id) {
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString(("audit:" + id).getBytes(StandardCharsets.US_ASCII));
    }

    /** The id a {@link #encode cursor} names; throws {@link IllegalArgumentException} for anything else. */
    public static long decode(String cursor) {
        try {
            String plain = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.US_ASCII);
            if (plain.startsWith("audit:")) {
                String digits = plain.substring(6);
                if (digits.matches("[0-9]{1,18}")) {
                    return Long.parseLong(digits);
                }
            }
        } catch (IllegalArgumentException e) {
            // not base64url: refused below
        }
        throw new IllegalArgumentException("not a cursor this API gave out");
    }

    private static String cut(String text, int max) {
        return text == null || text.length() <= max ? text : text.substring(0, max);
    }

    private static OffsetDateTime at(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }

    private static final RowMapper<Entry> ROW = (ResultSet rs, int n) -> new Entry(rs.getLong("id"),
            instant(rs), rs.getString("actor"), rs.getString("credential"), rs.getString("role"),
            rs.getString("method"), rs.getString("path"), rs.getString("target"), rs.getString("remote_address"),
            rs.getInt("status"), Outcome.fromApiName(rs.getString("outcome")));

    private static Instant instant(ResultSet rs) throws SQLException {
        return rs.getObject("at", OffsetDateTime.class).toInstant();
    }
}
