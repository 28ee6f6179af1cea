-- Per-worker identity (issue 12, item 3). Written for H2 and PostgreSQL.
-- The shared worker token only enrols a worker: registration hands it a credential of its own,
-- kept here as the SHA-256 (hex) of the secret; the secret itself is never stored. The secret
-- is 256 random bits, so a fast hash is enough (no salt, no stretching: nothing to guess).
-- NULL: the host holds no valid credential (never registered since, or revoked); its worker
-- must register again with the bootstrap token. Every replica reads the same column, so any
-- replica accepts a credential another replica issued.
alter table hosts add column credential_hash varchar(64);
-- An operator's revocation "for good": registrations for this host are refused (403) until
-- an operator lifts it.
alter table hosts add column registration_refused boolean default false not null;
create unique index hosts_credential_hash_idx on hosts (credential_hash);
