-- Issue 16, item 1: a second guest runtime. Written for H2 and PostgreSQL.
-- What runs the guest on its worker: synthetic (in the worker process) or qemu (a QEMU process).
alter table guests add column runtime varchar(16) default 'synthetic' not null;
-- Why a failed guest ended (its QEMU process died: exit code, last output); null unless failed.
alter table guests add column failure varchar(2000);
-- The runtimes the host's worker reported at its latest registration, as a JSON array of
-- {runtime, available, detail}; a worker from before runtimes ran synthetic guests only.
alter table hosts add column runtimes varchar(4000)
    default '[{"runtime":"synthetic","available":true,"detail":"built in"}]' not null;
