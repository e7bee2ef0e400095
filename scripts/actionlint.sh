#!/usr/bin/env bash
# Checks the GitHub workflow files with actionlint, built from the Go module proxy
# at a pinned version into .tmp/go/bin (nothing global). `npm run lint` runs it.
# Without a Go toolchain it says so and passes, except under CI (CI=true), where
# the check must run.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.7.12
bin="$PWD/.tmp/go/bin"
if ! "$bin/actionlint" -version 2>/dev/null | grep -qx -- "$version"; then
  if ! command -v go >/dev/null 2>&1; then
    if [[ "${CI:-}" == true ]]; then
      echo "actionlint: no Go toolchain to build it" >&2
      exit 1
    fi
    echo "actionlint: skipped (no Go toolchain)" >&2
    exit 0
  fi
  echo "actionlint: building $version into .tmp/go/bin" >&2
  GOBIN="$bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
fi
"$bin/actionlint" -no-color
