-- Creates or updates the service's PostgreSQL login with DML rights only (idempotent). Run by the
-- one-off db-setup task (ECS, deploy/aws) or job (Cloud Run,
-- deploy/gcp) as the owner user, before the first migration and after every change of
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

ALTER ROLE :"app_user" WITH LOGIN NOCREATEROLE NOCREATEDB PASSWORD :'app_password';

-- Cloud SQL makes every user created through its API a member of cloudsqlsuperuser, whose
-- CREATEROLE would let the login grant itself the owner's role and rewrite the audit tables.
-- The service's login keeps only the grants below. (No such role on RDS: nothing happens.)
SELECT format('REVOKE cloudsqlsuperuser FROM %I', :'app_user')
 WHERE EXISTS (SELECT FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
                WHERE r.rolname = 'cloudsqlsuperuser' AND u.rolname = :'app_user')
\gexec

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
