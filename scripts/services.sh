#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers on 127.0.0.1 for the storage tests and benchmarks.
#
#   eval "$(bash scripts/services.sh)"       # install if missing, start, print the env vars
#   bash scripts/services.sh stop [pg] [redis] # stop them (default both; the data stays until the folder goes)
#
# Idempotent: servers already running are reused. Everything lives under $TMT_SERVICES_DIR
# (default /tmp/tmt-services): a fresh cluster and a fresh Redis config, never the system's
# own instances. Only the `export ...` lines go to stdout; progress goes to stderr.
# Ports: TMT_PG_PORT (default 55432), TMT_REDIS_PORT (default 56379).
set -euo pipefail

BASE="${TMT_SERVICES_DIR:-/tmp/tmt-services}"
PG_PORT="${TMT_PG_PORT:-55432}"
REDIS_PORT="${TMT_REDIS_PORT:-56379}"
PG_DATA="$BASE/pg/data"
PG_SOCK="$BASE/pg/sock"
REDIS_DIR="$BASE/redis"

log() { echo "services: $*" >&2; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "$@" >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends "$@" >&2
  fi
}

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$dir" && -x "$dir/initdb" ]]; then
    echo "$dir"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  local bin
  bin=$(pg_bindir)
  if [[ -z "$bin" ]]; then
    log "installing postgresql"
    apt_install postgresql
    bin=$(pg_bindir)
  fi
  mkdir -p "$BASE/pg" "$PG_SOCK"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown -R postgres: "$BASE/pg"
    chmod 755 "$BASE"
  fi
  if as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    log "postgresql already running on 127.0.0.1:$PG_PORT"
  else
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
      log "initdb $PG_DATA"
      as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >/dev/null
      cat >>"$PG_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 200
EOF
    fi
    log "starting postgresql on 127.0.0.1:$PG_PORT"
    STARTED+=(pg)
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$BASE/pg/server.log" -w -t 60 start >/dev/null
  fi
  for _ in $(seq 1 60); do
    as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
    sleep 0.5
  done
  local psql=("$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
  if [[ $(as_pg "${psql[@]}" -d postgres -c "select 1 from pg_roles where rolname = 'tmt'") != 1 ]]; then
    as_pg "${psql[@]}" -d postgres -c "create role tmt login password 'tmt'"
  fi
  if [[ $(as_pg "${psql[@]}" -d postgres -c "select 1 from pg_database where datname = 'tmt'") != 1 ]]; then
    as_pg "${psql[@]}" -d postgres -c "create database tmt owner tmt"
  fi
}

redis_ping() {
  [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true) == PONG ]]
}

start_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing redis-server"
    apt_install redis-server
  fi
  if redis_ping; then
    log "redis already running on 127.0.0.1:$REDIS_PORT"
    return
  fi
  mkdir -p "$REDIS_DIR"
  # appendfsync always: a write the server acknowledged survives a crash of the server
  # too (the storage crash test kills the client; this covers the other side).
  cat >"$REDIS_DIR/redis.conf" <<EOF
bind 127.0.0.1
port $REDIS_PORT
dir $REDIS_DIR
daemonize yes
pidfile $REDIS_DIR/redis.pid
logfile $REDIS_DIR/redis.log
appendonly yes
appendfsync always
save ""
EOF
  log "starting redis on 127.0.0.1:$REDIS_PORT"
  STARTED+=(redis)
  redis-server "$REDIS_DIR/redis.conf"
  for _ in $(seq 1 60); do
    redis_ping && return
    sleep 0.5
  done
  log "redis did not answer on 127.0.0.1:$REDIS_PORT"
  exit 1
}

# stop [pg] [redis]: the named servers (default both).
stop_some() {
  local which=("$@") bin
  [[ ${#which[@]} -eq 0 ]] && which=(pg redis)
  if [[ " ${which[*]} " == *" pg "* ]]; then
    bin=$(pg_bindir)
    if [[ -n "$bin" && -f "$PG_DATA/postmaster.pid" ]]; then
      as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
  fi
  if [[ " ${which[*]} " == *" redis "* ]] && redis_ping; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  log "stopped ${which[*]}"
}

case "${1:-start}" in
  start)
    STARTED=()
    start_postgres
    start_redis
    echo "export TMT_PG_URL=postgres://tmt:tmt@127.0.0.1:$PG_PORT/tmt"
    echo "export TMT_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    # What this call started (with-services.sh stops only these).
    echo "export TMT_SERVICES_STARTED='${STARTED[*]}'"
    ;;
  stop)
    shift
    stop_some "$@"
    ;;
  *)
    echo "usage: $0 [start|stop]" >&2
    exit 2
    ;;
esac
