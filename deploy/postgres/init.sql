-- Least-privilege database roles for backorder-worker (docs/deploy.md, "Database roles").
--
--   backorder_owner   owns the schema `backorder` and every table in it; only the `migrate`
--                     command (compose service `migrate`, Kubernetes Job) logs in as it.
--   backorder_worker  the running worker: SELECT/INSERT/UPDATE/DELETE on the tables, USAGE
--                     on the sequences, no DDL, no TRUNCATE, cannot change the schema.
--
-- The postgres image runs this file once, as the superuser and connected to $POSTGRES_DB,
-- when it initialises an empty data directory (docker-entrypoint-initdb.d). On a managed
-- database run it the same way, as an admin connected to the application's database:
--
--   DB_OWNER_PASSWORD=… DB_WORKER_PASSWORD=… psql -v ON_ERROR_STOP=1 -d backorder -f init.sql
--
-- The passwords come from the environment (psql's \getenv, psql 15 or newer), so none is
-- written here. Running the file again is safe: it creates what is missing, resets the two
-- passwords and re-applies the grants.

\set ON_ERROR_STOP on

\getenv owner_password DB_OWNER_PASSWORD
\getenv worker_password DB_WORKER_PASSWORD
\if :{?owner_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'DB_OWNER_PASSWORD is not set'; END $$;
\endif
\if :{?worker_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'DB_WORKER_PASSWORD is not set'; END $$;
\endif

-- Roles are cluster-wide: create them only when missing, then (re)set their passwords.
SELECT 'CREATE ROLE backorder_owner'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'backorder_owner') \gexec
SELECT 'CREATE ROLE backorder_worker'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'backorder_worker') \gexec
ALTER ROLE backorder_owner
  LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'owner_password';
-- NOINHERIT: should someone grant the worker a role later, it does not silently gain rights.
ALTER ROLE backorder_worker
  LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT
  PASSWORD :'worker_password';

-- Only these two roles (and superusers) may connect to this database; no temporary tables.
-- :"DBNAME" is psql's name of the database it is connected to.
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME" TO backorder_owner, backorder_worker;

-- Since PostgreSQL 15 nobody but the database owner may create in `public`, so the tables
-- live in a schema of their own, owned by the owner role. Both roles find it first on their
-- search path: the migrations create their tables in the first schema of the search path,
-- and the worker's queries name tables without a schema.
CREATE SCHEMA IF NOT EXISTS backorder AUTHORIZATION backorder_owner;
ALTER SCHEMA backorder OWNER TO backorder_owner;
REVOKE ALL ON SCHEMA backorder FROM PUBLIC;
GRANT USAGE ON SCHEMA backorder TO backorder_worker;
ALTER ROLE backorder_owner IN DATABASE :"DBNAME" SET search_path = backorder;
ALTER ROLE backorder_worker IN DATABASE :"DBNAME" SET search_path = backorder;

-- Tables and sequences the owner creates later (every migration) are usable by the worker
-- without a grant in each migration.
ALTER DEFAULT PRIVILEGES FOR ROLE backorder_owner IN SCHEMA backorder
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO backorder_worker;
ALTER DEFAULT PRIVILEGES FOR ROLE backorder_owner IN SCHEMA backorder
  GRANT USAGE ON SEQUENCES TO backorder_worker;

-- And the ones that already exist, when this file is run again on a migrated database.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA backorder TO backorder_worker;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA backorder TO backorder_worker;
