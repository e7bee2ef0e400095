#!/usr/bin/env bash
# Runs a command with throwaway PostgreSQL and Redis servers (scripts/services.sh):
# starts them (installing them with apt if missing), exports TMT_PG_URL and
# TMT_REDIS_URL, runs the command, and then stops the servers it started (servers
# that were already running, e.g. for another run, are left alone).
#   bash scripts/with-services.sh ava
set -euo pipefail
cd "$(dirname "$0")/.."
services_env=$(bash scripts/services.sh)
eval "$services_env"
# shellcheck disable=SC2086 # a list of names
trap '[[ -n "${TMT_SERVICES_STARTED:-}" ]] && bash scripts/services.sh stop $TMT_SERVICES_STARTED >/dev/null 2>&1 || true' EXIT
"$@"
