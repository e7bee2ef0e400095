#!/usr/bin/env bash
# Installs the other JavaScript runtimes the package check runs the package on,
# Bun and Deno, from their npm packages (each ships its binary in a platform
# package) into .tmp/runtimes (inside the project, nothing global). Idempotent;
# prints the directory holding the `bun` and `deno` commands.
#   PATH="$(bash scripts/install-runtimes.sh):$PATH"
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.tmp/runtimes
bun_version=1.4.4
deno_version=2.9.6
bin="$PWD/$dir/node_modules/.bin"
have() { [[ -x "$bin/$1" ]] && [[ "$("$bin/$1" --version 2>/dev/null | head -n 1)" == *"$2"* ]]; }
if ! have bun "$bun_version" || ! have deno "$deno_version"; then
  echo "install-runtimes: bun $bun_version and deno $deno_version into $dir" >&2
  mkdir -p "$dir"
  # Their postinstall scripts put the platform package's binary in place.
  cat >"$dir/package.json" <<JSON
{
  "name": "telegram-mt-runtimes",
  "private": true,
  "dependencies": { "bun": "$bun_version", "deno": "$deno_version" },
  "allowScripts": { "bun": true, "deno": true }
}
JSON
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2)
  have bun "$bun_version" && have deno "$deno_version"
fi
echo "$bin"
