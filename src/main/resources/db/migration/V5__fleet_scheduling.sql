-- Fleet scheduling (issue 10): admission limits and a fair queue, label-matched policies with
-- deadlines and escalation, host drains. Written for both H2 and PostgreSQL.

-- A job's timeline also holds entries that are not transitions: why it waits, escalations,
-- operators' decisions.
alter table job_events add column kind varchar(16) default 'TRANSITION' not null;

-- Labels select policies and placement; a cordoned host takes no incoming guest.
alter table hosts add column labels varchar(4000) default '{}' not null;
alter table hosts add column cordoned boolean default false not null;
alter table guests add column labels varchar(4000) default '{}' not null;

-- The queue: priority (system, user, maintenance), the memory the job reserves on its
-- destination, and what a queued job waits for (null once admitted).
alter table migration_jobs add column priority varchar(16) default 'USER' not null;
alter table migration_jobs add column memory_bytes bigint default 0 not null;
-- What the job moves (memory, and the images with storage: copy): the completion timeout scales with it.
alter table migration_jobs add column transfer_bytes bigint default 0 not null;
alter table migration_jobs add column waiting_for varchar(512);
alter table migration_jobs add column waiting_key varchar(128);
-- The policy the job's settings came from, and the deadlines that follow from them. Deadlines
-- are stored so that a restarted control plane enforces the same ones.
alter table migration_jobs add column policy_name varchar(63);
alter table migration_jobs add column completion_timeout_per_gib_s bigint default 0 not null;
alter table migration_jobs add column progress_timeout_s bigint default 0 not null;
alter table migration_jobs add column escalation varchar(64) default '' not null;
alter table migration_jobs add column escalation_grace_s bigint default 0 not null;
alter table migration_jobs add column downtime_ramp varchar(1000) default '' not null;
alter table migration_jobs add column completion_deadline_at timestamp(6) with time zone;
alter table migration_jobs add column progress_deadline_at timestamp(6) with time zone;
alter table migration_jobs add column least_remaining_bytes bigint;
alter table migration_jobs add column escalation_step integer default 0 not null;
alter table migration_jobs add column next_escalation_at timestamp(6) with time zone;
alter table migration_jobs add column ramp_step integer default 0 not null;
alter table migration_jobs add column drain_id uuid;
-- The worker processes a job started on: a worker restarted since has lost its half of the job.
alter table migration_jobs add column source_worker_instance varchar(64);
-- The guest's run state when the job was made (pause and resume are refused while a job holds
-- it): the state it has wherever it ends up.
alter table migration_jobs add column guest_run_state varchar(16) default 'running' not null;
alter table migration_jobs add column destination_worker_instance varchar(64);
create index migration_jobs_queue_idx on migration_jobs (status, priority, created_at);

-- Admission limits changed at run time; scope '*' is the cluster, any other scope a host.
-- A null column falls back to the configuration.
create table admission_limits (
    scope        varchar(63) primary key,
    max_jobs     integer,
    max_outbound integer,
    max_inbound  integer,
    updated_at   timestamp(6) with time zone not null,
    version      bigint not null
);
-- The cluster row is the lock every admission pass takes, so replicas admit one at a time.
insert into admission_limits (scope, updated_at, version) values ('*', current_timestamp, 0);

create table migration_policies (
    name                         varchar(63)  primary key,
    description                  varchar(1024),
    guest_selector               varchar(4000) not null,
    host_selector                varchar(4000) not null,
    destination_selector         varchar(4000) not null,
    max_bandwidth                bigint,
    downtime_limit_ms            bigint,
    downtime_ramp                varchar(1000),
    completion_timeout_per_gib_s bigint,
    progress_timeout_s           bigint,
    allow_postcopy               boolean,
    storage_mode                 varchar(16),
    priority                     varchar(16),
    escalation                   varchar(64),
    escalation_grace_s           bigint,
    verify_checksums             boolean,
    created_at                   timestamp(6) with time zone not null,
    updated_at                   timestamp(6) with time zone not null,
    version                      bigint not null
);

create table host_drains (
    id           uuid primary key,
    host_id      varchar(63) not null,
    state        varchar(16) not null,
    destination_selector varchar(4000) not null,
    max_attempts integer not null,
    requested_by varchar(255) not null,
    started_at   timestamp(6) with time zone not null,
    finished_at  timestamp(6) with time zone,
    version      bigint not null
);
create index host_drains_host_idx on host_drains (host_id, state);

create table drain_guests (
    drain_id        uuid not null references host_drains (id),
    guest_id        uuid not null,
    state           varchar(16) not null,
    attempts        integer not null,
    job_id          uuid,
    tried_destinations varchar(1000) not null,
    next_attempt_at timestamp(6) with time zone,
    cause           varchar(2048),
    updated_at      timestamp(6) with time zone not null,
    version         bigint not null,
    primary key (drain_id, guest_id)
);
