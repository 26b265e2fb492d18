#!/bin/sh
# End-to-end tests in real Chromium (and Firefox for one test): the node
# with its demo origin and several browser viewers, inside a private network
# namespace that has only loopback (so no WebRTC check leaves the machine).
# Run from anywhere, as root (the namespace and installing the browsers need
# it).
#
# Environment: E2E_CHROMIUM (default /usr/bin/chromium), E2E_FIREFOX
# (default /usr/bin/firefox-esr), E2E_ONLY (run the tests whose name
# contains this), E2E_WATCH_S (seconds of the main test,
# default 60), E2E_DEBUG=1 (print each page report), EDGESWARM_SKIP_NPM_CI=1
# (node_modules is already installed), E2E_NAT=0 (skip the NAT suite).
set -eu
client=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$client/.." && pwd)
chromium=${E2E_CHROMIUM:-/usr/bin/chromium}
firefox=${E2E_FIREFOX:-/usr/bin/firefox-esr}

if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "e2e: $chromium is missing; install Debian's package as root: apt-get install -y chromium" >&2
    exit 1
  fi
  echo "e2e: installing chromium (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; }
fi
if [ ! -x "$firefox" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "e2e: $firefox is missing; install Debian's package as root: apt-get install -y firefox-esr" >&2
    exit 1
  fi
  echo "e2e: installing firefox-esr (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends firefox-esr >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends firefox-esr >/dev/null; }
fi
for tool in unshare ip; do
  command -v "$tool" >/dev/null 2>&1 || { echo "e2e: $tool is missing (Debian: util-linux, iproute2)" >&2; exit 1; }
done
# The NAT suite's emulated internet (internal/netem) needs nftables and tc.
if [ "${E2E_NAT:-1}" != 0 ] && { ! command -v nft >/dev/null 2>&1 || ! command -v tc >/dev/null 2>&1; }; then
  if [ "$(id -u)" != 0 ]; then
    echo "e2e: nft or tc is missing; install Debian's packages as root: apt-get install -y nftables iproute2" >&2
    exit 1
  fi
  echo "e2e: installing nftables and iproute2 (Debian packages)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nftables iproute2 >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nftables iproute2 >/dev/null; }
fi

cd "$client"
if [ "${EDGESWARM_SKIP_NPM_CI:-}" != 1 ] || [ ! -d node_modules/playwright-core ]; then
  # No browser download: playwright-core is only the driver.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
npx tsc --noEmit -p e2e

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/edgeswarm" .)
# CommonJS, so that NODE_PATH finds playwright-core in client/node_modules.
npx esbuild e2e/suite.ts --bundle --platform=node --format=cjs --target=node20 \
  --external:playwright-core --external:puppeteer-core --outfile="$work/suite.cjs" --log-level=warning
export NODE_PATH="$client/node_modules"
export E2E_NODE="$work/edgeswarm" E2E_CHROMIUM="$chromium" E2E_MODULES="$client/node_modules"
status=0
export E2E_FIREFOX="$firefox"
if [ "${E2E_ONLY_NAT:-}" != 1 ]; then
  unshare -n -- sh -c 'ip link set lo up && exec node "$1"' sh "$work/suite.cjs" || status=$?
fi
# The NAT suite: viewers in homes behind cone and symmetric NATs of an
# emulated internet that netemrun builds inside the private namespace.
if [ "${E2E_NAT:-1}" != 0 ]; then
  (cd "$root" && go build -o "$work/netemrun" ./internal/netem/netemrun)
  (cd "$client" && npx esbuild e2e/natnet.ts --bundle --platform=node --format=cjs --target=node20 \
    --external:playwright-core --outfile="$work/natnet.cjs" --log-level=warning)
  unshare -n -- sh -c 'ip link set lo up && exec "$1" --homes cone,cone,symmetric,symmetric -- node "$2"' \
    sh "$work/netemrun" "$work/natnet.cjs" || status=$?
fi
exit $status
