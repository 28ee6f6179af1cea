package io.ferry.control.job;

import jakarta.persistence.EntityManager;
import jakarta.persistence.Query;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;

/**
 * Job lists as index range scans. Every list is ordered (created_at desc, id desc) and every
 * filter has an index in that order (V6), so a page reads about {@code size} index entries:
 * with a cursor, from where the last page stopped ({@code created_at <= t and (created_at < t
 * or id < i)}: the first conjunct bounds the scan, the second drops the ties already seen);
 * by page number, after skipping the earlier pages' entries (no sort, but the skip grows with
 * the page). The host filter is a union of the source index's and the destination index's
 * ranges, each cut to the page, because one index cannot serve "source or destination".
 *
 * <p>The SQL is built per filter shape (no "{@code :x is null or}" conditions), so a
 * PostgreSQL generic plan for one shape is as good as a custom one. It runs on H2 as well.
 */
@Component
class JobListQuery {

    private static final String ORDER = " order by created_at desc, id desc";

    private final EntityManager em;

    JobListQuery(EntityManager em) {
        this.em = em;
    }

    @Transactional(readOnly = true)
    public JobPage byCursor(JobFilter filter, JobCursor after, int size) {
        return page(find(filter, after, 0, size + 1), size, null);
    }

    @Transactional(readOnly = true)
    public JobPage byNumber(JobFilter filter, int page, int size) {
        long offset = (long) page * size;
        return page(find(filter, null, offset, size + 1), size, count(filter));
    }

    private static JobPage page(List<MigrationJob> found, int size, Long total) {
        if (found.size() <= size) {
            return new JobPage(found, null, total);
        }
        List<MigrationJob> items = found.subList(0, size);
        return new JobPage(List.copyOf(items), JobCursor.after(items.get(size - 1)), total);
    }

    @SuppressWarnings("unchecked")
    private List<MigrationJob> find(JobFilter filter, JobCursor after, long offset, int limit) {
        Map<String, Object> params = new HashMap<>();
        String sql;
        if (filter.hostId() == null) {
            sql = "select * from migration_jobs" + where(filter, null, after, params) + ORDER
                    + " limit :limit offset :offset";
        } else {
            // each branch is cut to what the page can need; a job from a host to itself would be
            // in both, so the destination branch leaves out what the source branch has
            params.put("inner", offset + limit);
            sql = "select * from ("
                    + "(select * from migration_jobs" + where(filter, "source_host_id = :host", after, params)
                    + ORDER + " limit :inner)"
                    + " union all "
                    + "(select * from migration_jobs" + where(filter,
                            "destination_host_id = :host and source_host_id <> :host", after, params)
                    + ORDER + " limit :inner)"
                    + ") j" + ORDER + " limit :limit offset :offset";
            params.put("host", filter.hostId());
        }
        params.put("limit", limit);
        params.put("offset", offset);
        Query query = em.createNativeQuery(sql, MigrationJob.class);
        params.forEach(query::setParameter);
        return query.getResultList();
    }

    private long count(JobFilter filter) {
        Map<String, Object> params = new HashMap<>();
        String host = null;
        if (filter.hostId() != null) {
            host = "(source_host_id = :host or destination_host_id = :host)";
            params.put("host", filter.hostId());
        }
        Query query = em.createNativeQuery("select count(*) from migration_jobs" + where(filter, host, null, params));
        params.forEach(query::setParameter);
        return ((Number) query.getSingleResult()).longValue();
    }

    private static String where(JobFilter filter, String host, JobCursor after, Map<String, Object> params) {
        List<String> conditions = new ArrayList<>();
        if (filter.status() != null) {
            conditions.add("status = :status");
            params.put("status", filter.status().apiName());   // stored under its API name (JobStatusConverter)
        }
        if (filter.guestId() != null) {
            conditions.add("guest_id = :guest");
            params.put("guest", filter.guestId());
        }
        if (host != null) {
            conditions.add(host);
        }
        if (after != null) {
            conditions.add("created_at <= :at and (created_at < :at or id < :id)");
            params.put("at", after.createdAt());
            params.put("id", after.id());
        }
        return conditions.isEmpty() ? "" : " where " + String.join(" and ", conditions);
    }
}
