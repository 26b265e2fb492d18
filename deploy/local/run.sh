#!/bin/sh
# Runs a three-node edgeswarm cluster on this machine, with the built-in
# demo origin, until Ctrl-C:
#
#   deploy/local/run.sh
#
# Node 1 serves the demo origin and the demo player; nodes 2 and 3 use
# node 1 as their origin (a cache tier), so all three serve the same
# stream. Each embeds a nats-server; the three route to each other. Open
# http://127.0.0.1:8081/ in a few tabs; stop a node with
# kill $(cat "$dir"/node2.pid) and watch its viewers rejoin the others.
#
# EDGESWARM_LOCAL_PORT (default 8081) is node 1's HTTP port; the other
# ports follow from it: HTTP base+0..2, admin base+1000..1002, ICE (UDP)
# base-4600.., STUN (UDP) base-4500.., NATS clients base-3860.., NATS routes
# base-1860... EDGESWARM_CONFIG names a YAML file every node reads.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
base=${EDGESWARM_LOCAL_PORT:-8081}
dir=$(mktemp -d)
bin="$dir/edgeswarm"
(cd "$root" && go build -o "$bin" .)
secret=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
routes=""
for i in 0 1 2; do
  routes="$routes${routes:+,}nats-route://127.0.0.1:$((base - 1860 + i))"
done

pids=""
stop() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

for i in 0 1 2; do
  n=$((i + 1))
  http=$((base + i))
  origin=""
  [ "$i" -gt 0 ] && origin="--origin http://127.0.0.1:$base"
  # shellcheck disable=SC2086 # $origin is two words or none
  EDGESWARM_TICKET_SECRET=$secret "$bin" \
    --node-name "node$n" \
    --listen "127.0.0.1:$http" --admin "127.0.0.1:$((base + 1000 + i))" \
    --ice-udp "127.0.0.1:$((base - 4600 + i))" \
    --stun-listen "127.0.0.1:$((base - 4500 + i))" \
    --signal-url "ws://127.0.0.1:$http/swarm" \
    --nats-listen "127.0.0.1:$((base - 3860 + i))" \
    --nats-cluster-listen "127.0.0.1:$((base - 1860 + i))" \
    --nats-routes "$routes" \
    $origin >"$dir/node$n.log" 2>&1 &
  echo $! >"$dir/node$n.pid"
  pids="$pids $!"
  echo "node$n: http://127.0.0.1:$http/  metrics http://127.0.0.1:$((base + 1000 + i))/metrics  log $dir/node$n.log"
done
echo "cluster running; Ctrl-C stops it"
wait
