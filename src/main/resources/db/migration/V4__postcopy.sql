-- Post-copy (issue 5): the automatic switch and the post-copy bandwidth are per job; the
-- destination's page-fault latencies are kept beside the source's figures.
alter table migration_jobs add column postcopy_after_iterations integer not null default 0;
alter table migration_jobs add column postcopy_when_not_converging boolean not null default false;
alter table migration_jobs add column max_postcopy_bandwidth bigint not null default 0;
alter table migration_jobs add column destination_faults varchar(1000);
