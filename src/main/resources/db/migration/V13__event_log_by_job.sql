-- The web console's job page draws its charts from the job's progress events still in the log.
create index event_log_job_idx on event_log (job_id, id);
