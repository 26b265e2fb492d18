#!/bin/sh
# Type-checks and unit-tests the browser client. Run from anywhere; needs
# node and npm (packages are pinned by package-lock.json; no browser is
# downloaded).
set -eu
cd "$(dirname "$0")/.."
if [ "${EDGESWARM_SKIP_NPM_CI:-}" != 1 ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx tsc --noEmit -p .
# The swarm benchmark's runner and page (bench/swarm) build on these packages.
npx tsc --noEmit -p ../bench/swarm
# The published types must stand on their own.
npx tsc --noEmit --strict --skipLibCheck false --lib ES2022,DOM dist/edgeswarm.d.ts
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx esbuild $(find test ../bench/swarm -maxdepth 2 -name '*.test.ts' | sort) --bundle --platform=node --format=esm \
  --target=node20 --outdir="$out" --out-extension:.js=.mjs --log-level=warning
node --test --test-reporter=spec "$out"
# The npm package installs, type-checks and bundles as a user gets it.
sh scripts/pack-test.sh
