-- Several control-plane replicas (issue 11). Written for H2 and PostgreSQL.
-- One lease per running job: the replica that drives it (sends its commands, runs its checks)
-- until expires_at. A takeover raises the epoch; a replica's write for the job names the epoch it
-- holds, so one that lost the lease has its later writes refused (the way disk generations fence
-- workers). The row goes when the job ends.
create table job_leases (
    job_id      uuid primary key,
    owner       varchar(200) not null,
    epoch       bigint not null,
    expires_at  timestamp(6) with time zone not null
);
create index job_leases_owner_idx on job_leases (owner);

-- Cluster-wide leases: 'sweeps' is held by the one replica that runs the periodic sweeps
-- (admission, host heartbeats, drains, takeovers, retention).
create table control_leases (
    name        varchar(32) primary key,
    owner       varchar(200),
    epoch       bigint not null,
    expires_at  timestamp(6) with time zone not null
);
insert into control_leases (name, owner, epoch, expires_at) values ('sweeps', null, 0, timestamp with time zone '1970-01-01 00:00:00+00');
