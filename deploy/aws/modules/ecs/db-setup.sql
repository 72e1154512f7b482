-- Creates or updates the service's PostgreSQL login with DML rights only (idempotent). Run by the
-- one-off db-setup task as the master user, before the first migration and after every change of
-- the db-app-user secret. The password comes from the environment (injected from Secrets
-- Manager) and is never echoed: psql interpolates it, errors are terse, and the parameter group
-- keeps log_statement = none so the server does not log it either.
--
-- The default privileges below grant DML on every table the owner creates, the append-only audit
-- tables included. `todo-api migrate` (DATABASE_APP_ROLE = this login) narrows those right after
-- creating them and on every run: INSERT and SELECT only on audit_events (UPDATE, DELETE,
-- TRUNCATE revoked), SELECT, INSERT, DELETE on audit_client_ips. Purging old audit records runs
-- as the owner (the audit-purge task).
\set ON_ERROR_STOP on
\set VERBOSITY terse
\set SHOW_CONTEXT never
\getenv app_user APP_DB_USER
\getenv app_password APP_DB_PASSWORD
\getenv owner PGUSER

SELECT format('CREATE ROLE %I LOGIN', :'app_user')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user')
\gexec

ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_password';

GRANT CONNECT, TEMPORARY ON DATABASE :"DBNAME" TO :"app_user";
GRANT USAGE ON SCHEMA public TO :"app_user";

-- Tables and sequences that exist now (re-runs) and those the owner creates later (migrations).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_user";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app_user";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_user";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO :"app_user";

\echo db-setup: login role ready
