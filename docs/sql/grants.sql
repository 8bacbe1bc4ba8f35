-- Privileges of crm_app (see roles.sql), run as a superuser connected to
-- the engine's database AFTER `crm migrate` ran as crm_owner; run it again
-- after a migration adds a table (a new table gives crm_app nothing).

-- The event log: read only. Appends go through crm_append, which runs as
-- crm_owner (SECURITY DEFINER) and takes the recorded time from the
-- server's clock; crm_app has no INSERT, UPDATE, DELETE or TRUNCATE here.
GRANT SELECT ON crm_events, crm_streams TO crm_app;
GRANT EXECUTE ON FUNCTION crm_append(text[], bigint[], int[], int[], uuid[], text[], int[], jsonb[], text[], text[], text[], text[], timestamptz) TO crm_app;
GRANT EXECUTE ON FUNCTION crm_append_group(int[], int[], text[], bigint[], int[], int[], int[], uuid[], text[], int[], jsonb[], text[], text[], text[], text[], timestamptz) TO crm_app;
-- Seals: the sealer adds them; nobody changes them.
GRANT SELECT, INSERT ON crm_seals TO crm_app;
-- The request audit: appended and read.
GRANT SELECT, INSERT ON crm_request_log TO crm_app;

-- The command side.
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_claims TO crm_app;           -- email reservations (UPDATE: rehashing)
GRANT SELECT, INSERT ON crm_idempotency TO crm_app;
GRANT SELECT, INSERT, UPDATE ON crm_api_keys TO crm_app;                 -- UPDATE: revocation
GRANT SELECT, INSERT, DELETE ON crm_privacy_keys TO crm_app;             -- DELETE is crypto-shredding
GRANT SELECT, INSERT, DELETE ON crm_privacy_entities TO crm_app;

-- Read models, automations, webhooks and reports: the engine's own state.
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_projections TO crm_app;      -- checkpoints
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_workflow_checkpoints, crm_dead_letters, crm_automation_settings,
    crm_assignment_counters, crm_assignment_picks TO crm_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_deadlines TO crm_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_webhooks, crm_webhook_deliveries, crm_webhook_attempts TO crm_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_custom_reports TO crm_app;

-- Every process checks the schema versions at start (read only).
GRANT SELECT ON crm_eventstore_schema_version, crm_apikeys_schema_version, crm_schema_commands,
    crm_schema_projections, crm_requestlog_schema_version, crm_schema_workflows, crm_schema_scheduler,
    crm_schema_webhooks, crm_schema_custom_reports, crm_schema_privacy TO crm_app;

-- Report roles: crm_app creates and drops them only through these two
-- functions, owned by crm_report_admin. They accept only names of the
-- form crm_rpt_<name>_<hex> and drop only roles they created.
CREATE SCHEMA IF NOT EXISTS crm_roles AUTHORIZATION crm_report_admin;
REVOKE ALL ON SCHEMA crm_roles FROM PUBLIC;
GRANT USAGE ON SCHEMA crm_roles TO crm_app;

CREATE TABLE IF NOT EXISTS crm_roles.report_roles (name text PRIMARY KEY);
ALTER TABLE crm_roles.report_roles OWNER TO crm_report_admin;
REVOKE ALL ON crm_roles.report_roles FROM PUBLIC;

CREATE OR REPLACE FUNCTION crm_roles.create_report_role(p_name text, p_password text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_name IS NULL OR p_name !~ '^crm_rpt_[a-z0-9_]+_[0-9a-f]{8}$' OR length(p_name) > 63 THEN
        RAISE EXCEPTION 'not a report role name: %', p_name USING ERRCODE = '42501';
    END IF;
    IF p_password IS NULL OR p_password !~ '^[0-9a-f]{32,128}$' THEN
        RAISE EXCEPTION 'a report role password is 32 to 128 hex digits' USING ERRCODE = '22023';
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT '
                   'NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 32', p_name, p_password);
    INSERT INTO crm_roles.report_roles (name) VALUES (p_name);
END
$fn$;

CREATE OR REPLACE FUNCTION crm_roles.drop_report_role(p_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM crm_roles.report_roles WHERE name = p_name) THEN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_name) THEN
            RAISE EXCEPTION 'not a report role: %', p_name USING ERRCODE = '42501';
        END IF;
        RETURN;
    END IF;
    PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = p_name;
    EXECUTE format('DROP ROLE IF EXISTS %I', p_name);
    DELETE FROM crm_roles.report_roles WHERE name = p_name;
END
$fn$;

ALTER FUNCTION crm_roles.create_report_role(text, text) OWNER TO crm_report_admin;
ALTER FUNCTION crm_roles.drop_report_role(text) OWNER TO crm_report_admin;
REVOKE ALL ON FUNCTION crm_roles.create_report_role(text, text), crm_roles.drop_report_role(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_roles.create_report_role(text, text), crm_roles.drop_report_role(text) TO crm_app;
