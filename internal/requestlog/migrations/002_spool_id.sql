-- Entries written late from the durable spool (while the database was
-- unreachable) carry the id they were spooled under, so replaying a spool
-- twice (a crash between writing and truncating it) adds nothing.
ALTER TABLE crm_request_log ADD COLUMN spool_id uuid;
CREATE UNIQUE INDEX crm_request_log_spool_id ON crm_request_log (spool_id) WHERE spool_id IS NOT NULL;
