-- Webhooks (issue 11): subscriptions and the outbox they are delivered from. The outbox is fed
-- from the event log (each subscription keeps its own cursor, fanned_through) and a row leaves it
-- when the receiver answered 2xx. Written for H2 and PostgreSQL.
create table webhook_subscription (
    id                   uuid primary key,
    url                  varchar(2048) not null,
    -- the HMAC-SHA256 key of the signatures; never shown by the API
    secret               varchar(256) not null,
    -- the filter of GET /api/v1/events: comma-separated type names ('' = all) and subject ids
    types                varchar(128) not null,
    job_id               uuid,
    guest_id             uuid,
    host_id              varchar(63),
    description          varchar(1024),
    created_at           timestamp(6) with time zone not null,
    -- the event log is copied into the outbox through this id; moved under the row's lock
    fanned_through       bigint not null,
    last_success_at      timestamp(6) with time zone,
    consecutive_failures integer default 0 not null,
    last_error           varchar(1024),
    last_error_at        timestamp(6) with time zone
);

create table webhook_outbox (
    subscription_id uuid not null references webhook_subscription (id) on delete cascade,
    event_id        bigint not null,
    -- rows with one key go out one at a time in event order: 'job:<id>', else 'guest:<id>', 'host:<id>'
    ordering_key    varchar(80) not null,
    -- the request body exactly as signed and sent (kept here: the event log may be pruned first)
    body            varchar(8000) not null,
    attempts        integer default 0 not null,
    next_attempt_at timestamp(6) with time zone not null,
    -- a replica delivering the row holds it until claimed_until (compare-and-set on attempts)
    claimed_by      varchar(64),
    claimed_until   timestamp(6) with time zone,
    last_error      varchar(1024),
    primary key (subscription_id, event_id)
);
-- The head of each (subscription, key) and the rows behind it.
create index webhook_outbox_key_idx on webhook_outbox (subscription_id, ordering_key, event_id);
-- Due rows, oldest first.
create index webhook_outbox_due_idx on webhook_outbox (next_attempt_at);
