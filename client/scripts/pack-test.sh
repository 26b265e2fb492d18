#!/bin/sh
# Checks the npm package as a user gets it: `npm pack` the client, install
# the tarball into an empty temporary project (offline: the package has no
# runtime dependencies), import it from TypeScript, type-check that with
# tsc, bundle it with esbuild and run the bundle, and load the script-tag
# build. Needs node and npm, and client/node_modules (tsc, esbuild).
set -eu
client=$(cd "$(dirname "$0")/.." && pwd)
bin="$client/node_modules/.bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$client"
tarball=$(npm pack --silent --pack-destination "$tmp")
want_version=$(node -p 'require("./package.json").version')

# Only the built files and the README are published.
files=$(tar -tzf "$tmp/$tarball" | sort | tr '\n' ' ')
expected="package/README.md package/dist/edgeswarm.d.ts package/dist/edgeswarm.js package/dist/edgeswarm.mjs package/package.json "
if [ "$files" != "$expected" ]; then
  echo "pack-test: the tarball holds: $files" >&2
  echo "pack-test: expected:          $expected" >&2
  exit 1
fi

mkdir "$tmp/app"
cd "$tmp/app"
cat > package.json <<'JSON'
{ "name": "pack-test-app", "version": "1.0.0", "private": true }
JSON
npm install "$tmp/$tarball" --offline --no-audit --no-fund --loglevel=error >/dev/null

cat > main.ts <<'TS'
import { attachDashjs, attachGeneric, attachHls, attachShaka, getStats, on, supported, version } from "edgeswarm";
import type { Options, Session, Stats } from "edgeswarm";

const opts: Options = {};
const s: Stats = getStats();
const attach: ((p: object, o?: Options) => Session)[] = [attachDashjs, attachHls];
const off: () => void = on("segment", (e) => { void e.source; });
off();
void attachShaka; void attachGeneric; void opts; void attach;
console.log(JSON.stringify({ version, supported: supported(), http: s.httpBytes, attached: typeof attachHls }));
TS
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "strict": true, "target": "ES2020", "module": "ESNext", "moduleResolution": "Bundler",
  "lib": ["ES2022", "DOM"], "types": [], "noEmit": true, "skipLibCheck": false }, "files": ["main.ts"] }
JSON
"$bin/tsc" -p .
"$bin/esbuild" main.ts --bundle --format=esm --platform=neutral --outfile=out.mjs --log-level=warning
got=$(node out.mjs)
case "$got" in
  *"\"version\":\"$want_version\""*'"attached":"function"'*) ;;
  *) echo "pack-test: the bundled package printed $got (want version $want_version)" >&2; exit 1 ;;
esac

# The script-tag build defines the global edgeswarm.
node -e '
const fs = require("fs"), vm = require("vm");
const p = require.resolve("edgeswarm/script", { paths: [process.cwd()] });
// The globals of a page that the script reads when it loads.
const ctx = vm.createContext({ TextEncoder, TextDecoder, URL });
try { vm.runInContext(fs.readFileSync(p, "utf8"), ctx); } catch (e) {
  console.error("pack-test: loading the script build failed: " + e.message); process.exit(1);
}
if (typeof ctx.edgeswarm?.attachHls !== "function" || ctx.edgeswarm.version !== process.argv[1]) {
  console.error("pack-test: the script build does not define edgeswarm " + process.argv[1]); process.exit(1);
}' "$want_version"
echo "pack-test: $tarball installs, type-checks, bundles and runs"
