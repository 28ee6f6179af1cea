-- Pre-copy engine: figures reported by the source, the destination's verification digests,
-- and the verifyChecksums parameter.
alter table migration_jobs add column verify_checksums boolean default false not null;
alter table migration_jobs add column progress varchar(4000);
alter table migration_jobs add column destination_verification varchar(1000);
