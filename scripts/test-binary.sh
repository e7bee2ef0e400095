#!/bin/sh
# Runs a prebuilt native module where the whole suite cannot (the release's musl
# builds, in node:20-alpine, which has neither apt for PostgreSQL/Redis nor the
# Python peers): the README's usage example (ESM and CommonJS) and the runtime
# smoke suite, both importing the package by its own name, then the ava suites
# that need no services or peer clients. POSIX sh: Alpine has no bash.
#   sh scripts/test-binary.sh     (after npm ci, the binary + loader, build:tl, build:ts)
set -eu
cd "$(dirname "$0")/.."
node -e "require('./index.js'); console.log('test-binary: loaded the native module for', process.platform, process.arch)"
dir=.tmp/binary-check
mkdir -p "$dir"
node scripts/package-check/readme-example.mjs README.md "$dir"
node "$dir/example.mjs"
node "$dir/example.cjs"
node scripts/package-check/smoke.mjs
npx ava __test__/native.spec.ts __test__/crypto.spec.ts __test__/bignum.spec.ts __test__/srp.spec.ts \
  __test__/link.spec.ts __test__/mtp.spec.ts __test__/transport.spec.ts __test__/transport-socket.spec.ts \
  __test__/auth-driver.spec.ts __test__/auth-testdc.spec.ts __test__/tl-values.spec.ts \
  __test__/session.spec.ts __test__/session-pool.spec.ts __test__/testdc-core.spec.ts
