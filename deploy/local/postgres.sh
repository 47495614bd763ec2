#!/usr/bin/env bash
# A PostgreSQL of the project's own for tests and local runs: its own cluster in a state folder,
# listening on loopback only, on its own port; never the system's cluster.
#
#   deploy/local/postgres.sh [start]   install if missing, create, start (reuse if running)
#   deploy/local/postgres.sh stop      stop it (fast shutdown)
#   deploy/local/postgres.sh restart   restart it (open connections are cut)
#   deploy/local/postgres.sh status    exit 0 when it answers
#
# Environment: WAYMARK_SERVICES_DIR (default /tmp/waymark-services; the cluster lives in
# $WAYMARK_SERVICES_DIR/postgres), WAYMARK_PG_PORT (default 5433).
#
# `start` prints, and writes to $WAYMARK_SERVICES_DIR/postgres.env for `source`:
#   WAYMARK_PG_URL      the owner role `waymark` (runs migrations; may create databases, so the
#                       tests make a fresh database per check)
#   WAYMARK_PG_HUB_URL  the runtime role `waymark_hub`: data rights only (SELECT, INSERT,
#                       UPDATE, DELETE; no DDL), on the tables the owner creates in `waymark`
# Passwords are random, made once per cluster. Exit status is non-zero, with the reason, when
# the server cannot be installed, created or started.
set -euo pipefail

SERVICES="${WAYMARK_SERVICES_DIR:-/tmp/waymark-services}"
STATE="$SERVICES/postgres"
DATA="$STATE/data"
PORT="${WAYMARK_PG_PORT:-5433}"
ENV_FILE="$SERVICES/postgres.env"
DB=waymark
OWNER=waymark
HUB=waymark_hub

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

# The newest installed server binaries, installing the Debian package when there are none.
find_bin() {
  local bin
  bin="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
    [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and installing needs root (apt-get install postgresql)"
    echo "postgres.sh: installing PostgreSQL (Debian package)" >&2
    apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null ||
      die "apt-get install postgresql failed"
    bin="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d | sort -V | tail -n 1)"
  fi
  [ -n "$bin" ] && [ -x "$bin/pg_ctl" ] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
  echo "$bin"
}

# Runs a command as the cluster's OS user: `postgres` when we are root (initdb refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# psql as the cluster's superuser over the cluster's own socket.
su_psql() {
  as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$STATE" -p "$PORT" -U postgres "$@"
}

is_ready() {
  "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" >/dev/null 2>&1
}

create_cluster() {
  mkdir -p "$SERVICES"
  mkdir -p "$STATE"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "no \`postgres\` OS user (is the Debian package installed?)"
    chown postgres: "$STATE"
  fi
  chmod 700 "$STATE"
  if [ ! -s "$DATA/PG_VERSION" ]; then
    echo "postgres.sh: creating a cluster in $DATA" >&2
    as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$STATE/initdb.log" 2>&1 ||
      die "initdb failed (see $STATE/initdb.log)"
  fi
  # Loopback only, our own socket folder, and our port, whatever the cluster was made with.
  as_pg tee "$DATA/postgresql.auto.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$STATE'
max_connections = 200
fsync = on
EOF
}

start_server() {
  if as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    wait_ready
    return 0
  fi
  if is_ready; then
    die "another server already listens on 127.0.0.1:$PORT: set WAYMARK_PG_PORT"
  fi
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$STATE/server.log" -w -t 60 start >/dev/null ||
    die "the server did not start (see $STATE/server.log)"
  wait_ready
}

wait_ready() {
  for _ in $(seq 1 60); do
    is_ready && return 0
    sleep 0.5
  done
  die "the server does not answer on 127.0.0.1:$PORT (see $STATE/server.log)"
}

# A password made once per cluster and kept beside it (readable by root and postgres only).
password() {
  local file="$STATE/$1.password"
  if [ ! -s "$file" ]; then
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file"
    chmod 600 "$file"
  fi
  cat "$file"
}

create_roles() {
  local owner_pw hub_pw
  owner_pw="$(password "$OWNER")"
  hub_pw="$(password "$HUB")"
  su_psql -d postgres <<EOF >/dev/null || die "creating the roles and the database failed"
SELECT format('CREATE ROLE %I LOGIN CREATEDB', '$OWNER')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$OWNER') \gexec
SELECT format('CREATE ROLE %I LOGIN', '$HUB')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$HUB') \gexec
ALTER ROLE $OWNER PASSWORD '$owner_pw';
ALTER ROLE $HUB PASSWORD '$hub_pw' NOCREATEDB NOCREATEROLE;
SELECT 'CREATE DATABASE $DB OWNER $OWNER'
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB') \gexec
REVOKE ALL ON DATABASE $DB FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE $DB TO $HUB;
EOF
  # The hub's rights: data only, on what the owner creates (migrations run as the owner), and
  # never UPDATE, DELETE or TRUNCATE on the audit trail (migration 0005 revokes them; the grant
  # below would give them back on an existing database, so they are revoked again after it).
  # Also in template1, so every database created later (the tests make one per check) starts
  # with them.
  for db in "$DB" template1; do
    su_psql -d "$db" <<EOF >/dev/null || die "granting the runtime role its rights in $db failed"
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO $HUB;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO $HUB;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO $HUB;
ALTER DEFAULT PRIVILEGES FOR ROLE $OWNER IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO $HUB;
ALTER DEFAULT PRIVILEGES FOR ROLE $OWNER IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO $HUB;
SELECT 'REVOKE UPDATE, DELETE, TRUNCATE ON audit_entry, audit_person FROM $HUB'
  WHERE to_regclass('public.audit_entry') IS NOT NULL \gexec
SELECT 'REVOKE DELETE, TRUNCATE ON audit_head FROM $HUB'
  WHERE to_regclass('public.audit_head') IS NOT NULL \gexec
EOF
  done
  umask 077
  cat >"$ENV_FILE" <<EOF
export WAYMARK_PG_URL=postgres://$OWNER:$owner_pw@127.0.0.1:$PORT/$DB
export WAYMARK_PG_HUB_URL=postgres://$HUB:$hub_pw@127.0.0.1:$PORT/$DB
EOF
}

cmd_start() {
  BIN="$(find_bin)"
  create_cluster
  start_server
  create_roles
  echo "postgres.sh: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (state $STATE)" >&2
  echo "postgres.sh: environment in $ENV_FILE" >&2
  cat "$ENV_FILE"
}

cmd_stop() {
  BIN="$(find_bin)"
  [ -s "$DATA/PG_VERSION" ] || die "no cluster in $DATA"
  if as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null || die "the server did not stop"
  fi
}

cmd_restart() {
  BIN="$(find_bin)"
  [ -s "$DATA/PG_VERSION" ] || die "no cluster in $DATA: run start first"
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$STATE/server.log" -m fast -w -t 60 restart >/dev/null ||
    die "the server did not restart (see $STATE/server.log)"
  start_server
}

cmd_status() {
  BIN="$(find_bin)"
  is_ready
}

case "${1:-start}" in
start) cmd_start ;;
stop) cmd_stop ;;
restart) cmd_restart ;;
status) cmd_status ;;
*) die "unknown command \`$1\` (start, stop, restart, status)" ;;
esac
