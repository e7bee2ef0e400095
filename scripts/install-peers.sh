#!/usr/bin/env bash
# Installs the non-npm peer clients that the tests drive against TestDc into
# .tmp/pydeps (inside the project, nothing global): Telethon, which still uses
# the legacy RSA scheme. Idempotent; `npm test` runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."
target=.tmp/pydeps
version=1.45.0
if PYTHONPATH="$target" python3 -c "import telethon, sys; sys.exit(telethon.__version__ != '$version')" 2>/dev/null; then
  exit 0
fi
echo "install-peers: Telethon $version into $target"
python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
  --upgrade --target "$target" "telethon==$version"
