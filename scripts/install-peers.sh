#!/usr/bin/env bash
# Installs the non-npm peer clients that the tests drive against TestDc into
# .tmp/pydeps (inside the project, nothing global): Telethon, which still uses
# the legacy RSA scheme, and TelethonFakeTLS. Idempotent; `npm test` runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."
target=.tmp/pydeps
version=1.45.0
pip_target() {
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --upgrade --target "$target" "$@"
}
if ! PYTHONPATH="$target" python3 -c "import telethon, sys; sys.exit(telethon.__version__ != '$version')" 2>/dev/null; then
  echo "install-peers: Telethon $version into $target"
  pip_target "telethon==$version"
fi
# TelethonFakeTLS: an independent fake-TLS (`ee` MTProxy) client for Telethon, for
# proxy-mtproxy.spec.ts. --no-deps keeps the pinned Telethon; it needs `cryptography`.
faketls=2022.4.4.16.37.38.728726
if ! PYTHONPATH="$target" python3 -c "import TelethonFakeTLS" 2>/dev/null; then
  echo "install-peers: TelethonFakeTLS $faketls into $target"
  pip_target --no-deps "telethonfaketls==$faketls"
fi
if ! PYTHONPATH="$target" python3 -c "import cryptography" 2>/dev/null; then
  pip_target cryptography
fi
