#!/usr/bin/env bash
# Runs a command with throwaway PostgreSQL and Redis servers (scripts/services.sh):
# starts them (installing them with apt if missing), exports TMT_PG_URL and
# TMT_REDIS_URL, runs the command, and stops both when it ends.
#   bash scripts/with-services.sh ava
set -euo pipefail
cd "$(dirname "$0")/.."
services_env=$(bash scripts/services.sh)
eval "$services_env"
trap 'bash scripts/services.sh stop >/dev/null 2>&1 || true' EXIT
"$@"
