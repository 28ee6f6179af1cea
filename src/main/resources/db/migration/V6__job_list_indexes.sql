-- Job lists at scale (issue 11): every list is newest first (created_at desc, id desc as the
-- tie-break) and pages by keyset, so each filter has an index in exactly that order and a
-- page is one index range scan, however many jobs are finished. The host filter matches the
-- source or the destination: one index each, and the list query is a union of the two.
-- Written for both H2 and PostgreSQL.
create index migration_jobs_created_idx on migration_jobs (created_at desc, id desc);
create index migration_jobs_status_created_idx on migration_jobs (status, created_at desc, id desc);
create index migration_jobs_source_created_idx on migration_jobs (source_host_id, created_at desc, id desc);
create index migration_jobs_destination_created_idx on migration_jobs (destination_host_id, created_at desc, id desc);
create index migration_jobs_guest_created_idx on migration_jobs (guest_id, created_at desc, id desc);

-- Each of these is a prefix of one above: dropping them saves a write per job change. The
-- dispatcher's status lookups (queued, running, unfinished) use the status index above (or
-- V5's queue index), so their cost follows the unfinished jobs, not the finished ones.
drop index migration_jobs_status_idx;
drop index migration_jobs_guest_idx;
drop index migration_jobs_source_idx;
drop index migration_jobs_destination_idx;

-- A drain pass reads its own jobs; without this it read the whole table.
create index migration_jobs_drain_idx on migration_jobs (drain_id);
