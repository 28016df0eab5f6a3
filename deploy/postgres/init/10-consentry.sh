#!/bin/sh
# Runs once, when the PostgreSQL volume is empty (the postgres image runs /docker-entrypoint-initdb.d/*):
# creates the service's role and database. The role is no superuser and cannot create roles or databases.
# It owns the tables it migrates (the service applies its migrations at start), so it could still disable the
# trail's triggers; the trail monitor catches what that would allow (docs/architecture.md §6, docs/deploy.md).
set -eu
: "${CONSENTRY_DB_PASSWORD:?CONSENTRY_DB_PASSWORD is required (deploy/secrets/postgres.env)}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v password="$CONSENTRY_DB_PASSWORD" <<'SQL'
CREATE ROLE consentry LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'password';
CREATE DATABASE consentry OWNER consentry;
REVOKE ALL ON DATABASE consentry FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE consentry TO consentry;
SQL
