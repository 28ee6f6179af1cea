-- A guest's latest dirty-rate measurement (issue 15, item 1: POST /api/v1/guests/{id}/dirty-rate),
-- QEMU's calc-dirty-rate/query-dirty-rate kept per guest. Written for H2 and PostgreSQL.
-- A table of its own, not columns on guests: a measurement's start and end must not bump the
-- guest row's version, which heartbeats and jobs compare-and-set.
create table guest_dirty_rate (
    guest_id                 uuid primary key references guests (id) on delete cascade,
    -- this measurement's id: only its own run may record its end (a newer one may replace it)
    measurement_id           uuid not null,
    -- measuring | measured | failed; 'measuring' past started_at + window + grace reads as failed
    status                   varchar(16) not null,
    mode                     varchar(16) not null,
    window_ms                bigint not null,
    sample_pages_per_gib     integer not null,
    -- the host whose worker measured: a result says nothing about the guest on another host
    host_id                  varchar(63) not null,
    started_at               timestamp(6) with time zone not null,
    measured_at              timestamp(6) with time zone,
    measured_window_ms       double precision,
    sampled_pages            bigint,
    changed_pages            bigint,
    total_pages              bigint,
    dirty_pages_per_second   double precision,
    dirty_bytes_per_second   double precision,
    zero_page_fraction       double precision,
    -- the guest's state when measured: a paused guest's 0 says nothing once it runs again
    guest_state              varchar(16),
    reason                   varchar(1024),
    version                  bigint not null
);
