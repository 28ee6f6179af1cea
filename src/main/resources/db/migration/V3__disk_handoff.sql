-- Disk hand-off (issue 4): each ownership change names the job that made it and what it moved
-- from; hosts name the datastore their images live on, so shared and copy storage can be checked.
alter table disk_ownership_history add column job_id uuid;
alter table disk_ownership_history add column from_owner_host_id varchar(63);
alter table disk_ownership_history add column from_state varchar(16);
alter table hosts add column datastore_id varchar(255) not null default '';
