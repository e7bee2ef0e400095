#!/usr/bin/env bash
# Proves the published package: builds the root package and this machine's
# platform package the way .github/workflows/release.yml publishes them (napi
# artifacts + pre-publish, optionalDependencies filled in), packs both, installs
# the tarballs into an empty project with no Rust toolchain on PATH, and runs
# there the README's usage example (ESM, CommonJS, and tsc --strict under the
# nodenext and bundler resolutions) and the runtime smoke suite
# (scripts/package-check/smoke.mjs) under Node, Bun and Deno, with the package
# installed normally and again through a symlink out of node_modules.
#
#   bash scripts/package-check.sh      (after `npm install && npm run build`)
#
# It packs the committed tree (HEAD), with the native module and loader that the
# build left in the checkout. Work happens in a temporary folder, removed at the
# end unless PACKAGE_CHECK_KEEP=1. Linux x64 (glibc) only: the one platform
# package this machine builds.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
here="$repo/scripts/package-check"
target=x86_64-unknown-linux-gnu
platform=linux-x64-gnu
ts_version=7.0.2
node_types_version=20.19.43

say() { echo "package-check: $*"; }
fail() {
  echo "package-check: FAILED: $*" >&2
  exit 1
}

[[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] || fail "only linux x64 builds its platform package here"
for f in index.js index.d.ts "telegram-mt.$platform.node"; do
  [[ -f "$repo/$f" ]] || fail "$f missing: run npm run build first"
done
runtimes="$(bash "$repo/scripts/install-runtimes.sh")"

work="$(mktemp -d "${TMPDIR:-/tmp}/tmt-package-check.XXXXXX")"
if [[ "${PACKAGE_CHECK_KEEP:-}" == 1 ]]; then
  say "keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi

# --- 1. The release's publish job, for one target --------------------------------
# release.yml: npm ci, the build job's artifacts (bindings-<target>/*.node, the
# loader), build:tl + build:ts, `napi artifacts`, `napi pre-publish`, npm publish.
say "staging HEAD $(git -C "$repo" rev-parse --short HEAD) in $work/stage"
git clone --quiet --no-hardlinks "$repo" "$work/stage"
stage="$work/stage"
ln -s "$repo/node_modules" "$stage/node_modules"
cp "$repo/index.js" "$repo/index.d.ts" "$stage/"
mkdir -p "$stage/artifacts/bindings-$target"
cp "$repo/telegram-mt.$platform.node" "$stage/artifacts/bindings-$target/"
# The release builds all seven targets; here only this machine's exists, so napi
# is told about that one (a NAPI-RS config file overrides package.json's targets).
echo "{\"targets\": [\"$target\"]}" >"$stage/napi.check.json"
(
  cd "$stage"
  npm run --silent build:tl >/dev/null
  npm run --silent build:ts
  npx napi artifacts -c napi.check.json -d artifacts >artifacts.log 2>&1 || { cat artifacts.log; fail "napi artifacts"; }
  npx napi pre-publish -c napi.check.json -t npm --skip-optional-publish >pre-publish.log 2>&1 ||
    { cat pre-publish.log; fail "napi pre-publish"; }
  mkdir -p "$work/tarballs"
  npm pack --silent --pack-destination "$work/tarballs" >/dev/null
  npm pack --silent "./npm/$platform" --pack-destination "$work/tarballs" >/dev/null
)
root_tgz="$(ls "$work"/tarballs/telegram-mt-[0-9]*.tgz)"
platform_tgz="$(ls "$work"/tarballs/telegram-mt-"$platform"-*.tgz)"
say "packed $(basename "$root_tgz") ($(du -k "$root_tgz" | cut -f1) KiB), $(basename "$platform_tgz") ($(du -k "$platform_tgz" | cut -f1) KiB)"

# What the tarballs hold: no install-type script, the module type, the platform
# package as an optional dependency, the license, the loader and both entry points.
node - "$root_tgz" "$platform_tgz" "$platform" <<'NODE'
const { execFileSync } = require('node:child_process');
const [rootTgz, platformTgz, platform] = process.argv.slice(2);
const list = (tgz) => execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n').filter(Boolean);
const manifest = (tgz) => JSON.parse(execFileSync('tar', ['-xzOf', tgz, 'package/package.json'], { encoding: 'utf8' }));
const fail = (m) => { console.error(`package-check: FAILED: ${m}`); process.exit(1); };
const root = manifest(rootTgz);
const plat = manifest(platformTgz);
for (const [name, pkg] of [['root', root], ['platform', plat]]) {
  const scripts = Object.keys(pkg.scripts ?? {}).filter((s) => /^(pre|post)?install$|^prepare$/.test(s));
  if (scripts.length) fail(`the ${name} package has install-type scripts: ${scripts.join(', ')}`);
}
if (root.type !== 'commonjs') fail(`root package type is ${root.type}`);
if (root.optionalDependencies?.[`telegram-mt-${platform}`] !== root.version)
  fail(`optionalDependencies: ${JSON.stringify(root.optionalDependencies)}`);
const files = list(rootTgz);
for (const f of ['LICENSE', 'README.md', 'index.js', 'index.d.ts', 'dist/index.js', 'dist/index.d.ts', 'dist/testing/index.js'])
  if (!files.includes(`package/${f}`)) fail(`the root tarball lacks ${f}`);
if (files.some((f) => f.endsWith('.node'))) fail('the root tarball holds a native module');
if (!list(platformTgz).includes(`package/telegram-mt.${platform}.node`)) fail('the platform tarball lacks its .node');
NODE

# --- 2. A user's project: install the tarballs, no Rust on PATH -------------------
no_rust_path=""
IFS=: read -r -a path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
  [[ -x "$d/cargo" || -x "$d/rustc" || -x "$d/rustup" ]] && continue
  no_rust_path="${no_rust_path:+$no_rust_path:}$d"
done
user="$work/user"
mkdir -p "$user"
cat >"$user/package.json" <<'JSON'
{ "name": "telegram-mt-user", "private": true, "type": "module" }
JSON
(
  cd "$user"
  export PATH="$no_rust_path"
  ! command -v cargo >/dev/null && ! command -v rustc >/dev/null || fail "a Rust toolchain is still on PATH"
  # --foreground-scripts: a lifecycle script that ran would print its `> pkg@v script` header.
  npm install --no-audit --no-fund --foreground-scripts "$root_tgz" "$platform_tgz" >install.log 2>&1 ||
    { cat install.log; fail "npm install of the tarballs"; }
  if grep -Eiq 'install-scripts|install script|^> ' install.log; then
    cat install.log
    fail "the install ran or announced a lifecycle script"
  fi
  # No installed package may carry an install-type script (or a binding.gyp, npm's implicit one).
  node -e '
    const fs = require("node:fs"), path = require("node:path");
    const dirs = fs.readdirSync("node_modules").flatMap((d) =>
      d.startsWith("@") ? fs.readdirSync(path.join("node_modules", d)).map((s) => path.join(d, s)) : d.startsWith(".") ? [] : [d]);
    for (const d of dirs) {
      const pkg = JSON.parse(fs.readFileSync(path.join("node_modules", d, "package.json"), "utf8"));
      const s = Object.keys(pkg.scripts ?? {}).filter((k) => /^(pre|post)?install$/.test(k));
      if (s.length || fs.existsSync(path.join("node_modules", d, "binding.gyp"))) {
        console.error(`package-check: FAILED: ${d} has install scripts`); process.exit(1);
      }
    }'
  say "installed: $(node -p 'Object.keys(require("./package.json").dependencies).join(", ")'), no lifecycle script, no warning"
  node "$here/readme-example.mjs" "$repo/README.md" .
  cp "$here/smoke.mjs" "$here/tsconfig.nodenext.json" "$here/tsconfig.bundler.json" .
  # The type check's own tools, installed after (and apart from) the tarballs.
  npm install --no-audit --no-fund --save-dev "typescript@$ts_version" "@types/node@$node_types_version" >/dev/null 2>&1 ||
    fail "npm install of typescript"
)

# --- 3. Run it ---------------------------------------------------------------------
run() { # what, expected line, command...
  local what="$1" expect="$2"
  shift 2
  local out
  if ! out="$(cd "$user" && PATH="$no_rust_path:$runtimes" NO_COLOR=1 timeout 120 "$@" 2>&1)"; then
    echo "$out" >&2
    fail "$what"
  fi
  grep -q -- "$expect" <<<"$out" || {
    echo "$out" >&2
    fail "$what: no line '$expect'"
  }
  say "ok  $what: $(grep -- "$expect" <<<"$out" | head -n 1)"
}
example="example: config from DC 2"
run "tsc --strict, nodenext" "" npx tsc -p tsconfig.nodenext.json
run "tsc --strict, bundler" "" npx tsc -p tsconfig.bundler.json
for layout in installed symlinked; do
  if [[ "$layout" == symlinked ]]; then
    # The package reached through a symlink out of node_modules (npm link, a
    # workspace): Deno then reads its package.json "type" to know it is CommonJS.
    mkdir -p "$user/linked"
    mv "$user/node_modules/telegram-mt" "$user/linked/telegram-mt"
    ln -s ../linked/telegram-mt "$user/node_modules/telegram-mt"
  fi
  run "node ESM ($layout)" "$example" node example.mjs
  run "node CommonJS ($layout)" "$example" node example.cjs
  run "bun ESM ($layout)" "$example" bun example.mjs
  run "bun CommonJS ($layout)" "$example" bun example.cjs
  run "deno ESM ($layout)" "$example" deno run -A example.mjs
  run "deno CommonJS ($layout)" "$example" deno run -A example.cjs
  run "node smoke ($layout)" "smoke: ok" node smoke.mjs
  run "bun smoke ($layout)" "smoke: ok" bun smoke.mjs
  run "deno smoke ($layout)" "smoke: ok" deno run -A smoke.mjs
done
say "all passed"
