-- Issue 15: auto-converge, XBZRLE and compression are honoured; a job stores their parameters
-- (QEMU's defaults for jobs made before), a policy may set each of them.
alter table migration_jobs add column cpu_throttle_initial integer not null default 20;
alter table migration_jobs add column cpu_throttle_increment integer not null default 10;
alter table migration_jobs add column max_cpu_throttle integer not null default 99;
alter table migration_jobs add column cpu_throttle_tailslow boolean not null default false;
alter table migration_jobs add column xbzrle_cache_size bigint not null default 67108864;
alter table migration_jobs add column compression_level integer not null default 0;

alter table migration_policies add column auto_converge boolean;
alter table migration_policies add column xbzrle boolean;
alter table migration_policies add column compression varchar(16);
alter table migration_policies add column cpu_throttle_initial integer;
alter table migration_policies add column cpu_throttle_increment integer;
alter table migration_policies add column max_cpu_throttle integer;
alter table migration_policies add column cpu_throttle_tailslow boolean;
alter table migration_policies add column xbzrle_cache_size bigint;
alter table migration_policies add column compression_level integer;
