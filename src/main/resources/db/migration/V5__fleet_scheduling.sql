-- Fleet scheduling (issue 10). A job's timeline also holds entries that are not transitions:
-- why it waits, escalations, operators' decisions.
alter table job_events add column kind varchar(16) default 'TRANSITION' not null;
