package io.ferry.control.webhooks;

import io.ferry.control.events.EventFilter;
import io.ferry.control.events.EventType;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/** Column conversions shared by the subscription and outbox queries (H2 and PostgreSQL alike). */
final class Sql {

    private Sql() {
    }

    /** A {@code timestamp with time zone} parameter: an OffsetDateTime, which both drivers take as such. */
    static OffsetDateTime at(Instant instant) {
        return instant == null ? null : OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }

    static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }

    static UUID uuid(ResultSet rs, String column) throws SQLException {
        return rs.getObject(column, UUID.class);
    }

    /** The {@code types} column: comma-separated API names, empty for all. */
    static String types(Set<EventType> types) {
        return types.stream().sorted().map(EventType::apiName).collect(Collectors.joining(","));
    }

    static EventFilter filter(ResultSet rs) throws SQLException {
        String names = rs.getString("types");
        Set<EventType> types = EnumSet.noneOf(EventType.class);
        if (!names.isEmpty()) {
            Arrays.stream(names.split(",")).map(EventType::fromApiName).forEach(types::add);
        }
        return new EventFilter(types, uuid(rs, "job_id"), uuid(rs, "guest_id"), rs.getString("host_id"));
    }

    /** An error text cut to its column. */
    static String error(String text) {
        return text == null || text.length() <= 1024 ? text : text.substring(0, 1021) + "...";
    }
}
