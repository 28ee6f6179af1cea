package io.ferry.control.system;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Component;

/**
 * Named API tokens, each with a {@link Role}, kept in {@code api_token}. Only the SHA-256 of a
 * token is stored: the token is 32 random bytes, so its hash cannot be reversed and a stolen
 * table lets nobody in. The token itself is shown once, when it is created.
 *
 * <p>A presented token is looked up by its hash (a timing difference in that lookup tells an
 * attacker about the hash, not the token) and the hash found is compared in constant time.
 * Answers are cached per replica for {@code ferry.auth.tokens.cache-ttl} (1 s): a revocation
 * holds at once on the replica that made it and within that time on the others, which read the
 * table again.
 */
@Component
public class ApiTokens {

    /** Names a token may have: a lower-case DNS label, as policies. */
    public static final String NAME = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
    /** Every token this store makes starts so (a JWT never does: it starts with "ey"). */
    static final String PREFIX = "ferry_";
    /** The name the audit log and job timelines give the bootstrap token (reserved). */
    public static final String BOOTSTRAP = "bootstrap";

    private static final int MAX_CACHED = 10_000;

    private final JdbcTemplate jdbc;
    private final Clock clock;
    private final Duration cacheTtl;
    private final SecureRandom random = new SecureRandom();
    /** hash → what the table said and when; a revocation here removes its entry at once. */
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    /** A token as listed: never the token itself. */
    public record ApiToken(UUID id, String name, Role role, String description, Instant createdAt, String createdBy,
                           Instant revokedAt, String revokedBy) {

        public boolean revoked() {
            return revokedAt != null;
        }
    }

    /** A new token with its secret, which is never shown again. */
    public record Created(ApiToken token, String secret) {
    }

    private record Cached(ApiToken token, String hash, Instant readAt) {
    }

    ApiTokens(JdbcTemplate jdbc, Clock clock, @Value("${ferry.auth.tokens.cache-ttl:1s}") Duration cacheTtl) {
        this.jdbc = jdbc;
        this.clock = clock;
        this.cacheTtl = cacheTtl;
    }

    public Created create(String name, Role role, String description, String createdBy) {
        if (!name.matches(NAME)) {
            throw new IllegalArgumentException("must be a lower-case DNS label (a-z, 0-9, '-', at most 63)");
        }
        if (name.equals(BOOTSTRAP)) {
            throw new ResourceConflictException("the name '" + BOOTSTRAP + "' is the configured bootstrap token's");
        }
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        String secret = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        ApiToken token = new ApiToken(UUID.randomUUID(), name, role, description, clock.instant(), createdBy, null,
                null);
        try {
            jdbc.update("insert into api_token (id, name, role, token_hash, description, created_at, created_by) "
                            + "values (?, ?, ?, ?, ?, ?, ?)", token.id(), name, role.apiName(), hash(secret),
                    description, at(token.createdAt()), createdBy);
        } catch (DuplicateKeyException e) {
            throw new ResourceConflictException("a token named '" + name + "' exists (revoked tokens keep their "
                    + "names, so the audit log stays unambiguous)");
        }
        return new Created(token, secret);
    }

    /** Every token, revoked ones included, oldest first. */
    public List<ApiToken> list() {
        return jdbc.query("select * from api_token order by created_at, id", ROW);
    }

    public Optional<ApiToken> find(UUID id) {
        return jdbc.query("select * from api_token where id = ?", ROW, id).stream().findFirst();
    }

    /** Revokes the token from now on (a second revocation changes nothing); empty when there is no such token. */
    public Optional<ApiToken> revoke(UUID id, String by) {
        jdbc.update("update api_token set revoked_at = ?, revoked_by = ? where id = ? and revoked_at is null",
                at(clock.instant()), by, id);
        cache.values().removeIf(c -> c.token() != null && c.token().id().equals(id));
        return find(id);
    }

    /**
     * The token the presented secret is, revoked or not (the caller decides; the audit log names a
     * revoked token that was tried); empty for anything else.
     */
    public Optional<ApiToken> lookup(String presented) {
        if (presented == null || !presented.startsWith(PREFIX) || presented.length() > 128) {
            return Optional.empty();
        }
        String hash = hash(presented);
        Instant now = clock.instant();
        Cached cached = cache.get(hash);
        if (cached == null || cached.readAt().plus(cacheTtl).isBefore(now)) {
            List<Cached> rows = jdbc.query("select * from api_token where token_hash = ?",
                    (rs, n) -> new Cached(ROW.mapRow(rs, n), rs.getString("token_hash"), now), hash);
            cached = rows.isEmpty() ? new Cached(null, hash, now) : rows.get(0);
            if (cache.size() >= MAX_CACHED) {
                cache.clear();   // a flood of made-up tokens must not grow the heap
            }
            if (cached.token() != null) {
                cache.put(hash, cached);
            }
        }
        if (cached.token() == null || !MessageDigest.isEqual(cached.hash().getBytes(StandardCharsets.US_ASCII),
                hash.getBytes(StandardCharsets.US_ASCII))) {
            return Optional.empty();
        }
        return Optional.of(cached.token());
    }

    static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static OffsetDateTime at(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    private static final RowMapper<ApiToken> ROW = (rs, n) -> new ApiToken(rs.getObject("id", UUID.class),
            rs.getString("name"), Role.fromApiName(rs.getString("role")), rs.getString("description"),
            instant(rs, "created_at"), rs.getString("created_by"), instant(rs, "revoked_at"),
            rs.getString("revoked_by"));
}
