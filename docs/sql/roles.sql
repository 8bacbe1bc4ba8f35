-- Roles for running the engine as a role that cannot rewrite history
-- (docs/privacy-and-integrity.md). Run as a superuser, connected to the
-- engine's database, BEFORE the first `crm migrate`:
--
--   psql -d crm -v ON_ERROR_STOP=1 -f docs/sql/roles.sql
--   crm migrate --database-url 'postgres://crm_owner:...@host/crm'
--   psql -d crm -v ON_ERROR_STOP=1 -f docs/sql/grants.sql
--   crm serve --database-url 'postgres://crm_app:...@host/crm' ...
--
-- crm_owner      owns every table, trigger and function (runs migrations;
--                used for nothing else; its password stays with the DBA).
-- crm_app        what the engine connects as: owns no table of the log,
--                cannot create roles, appends only through crm_append.
-- crm_report_admin  may create roles (CREATEROLE), cannot log in; owns the
--                two functions through which crm_app creates and drops the
--                analysts' report roles (grants.sql), nothing else.
--
-- Set the passwords afterwards (ALTER ROLE crm_owner PASSWORD '...').

CREATE ROLE crm_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE ROLE crm_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE ROLE crm_report_admin NOLOGIN NOSUPERUSER NOCREATEDB CREATEROLE NOREPLICATION NOBYPASSRLS;
-- Dropping a report ends the sessions still logged in as its role.
GRANT pg_signal_backend TO crm_report_admin;

DO $do$
BEGIN
    -- Report roles connect through PUBLIC's CONNECT; nobody gets
    -- temporary tables by default.
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO crm_owner, crm_app', current_database());
    -- The projectors create and swap their rm_* schemas, the analysts'
    -- reports get a schema each: both owned by crm_app.
    EXECUTE format('GRANT CREATE ON DATABASE %I TO crm_app', current_database());
END
$do$;

REVOKE CREATE, USAGE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO crm_owner;
GRANT USAGE ON SCHEMA public TO crm_app;
