// Command bench holds edgeswarm's load benchmarks. Each benchmark is a
// subcommand:
//
//	go run ./bench cache [flags]   cache-hit serving: the node against nginx proxy_cache
//	go run ./bench swarm [flags]   offload, stalls and playback with N Chromium viewers
//	go run ./bench swarm-go [flags] many Go viewers in the homes of an emulated internet
//
// Hidden commands are run by the benchmarks themselves: swarm-ns (inside
// the swarm benchmark's network namespace: the ffmpeg origin or the
// emulated internet of --net, then the runner), busy (the competing
// process of --busy) and home-viewers (swarm-go's viewers of one home).
//
// A benchmark starts everything it measures itself (the demo origin, the
// node, the reference server) on loopback addresses only (with --net, the
// private addresses of its emulated internet), bounds every step
// in time and stops every process it started when it ends, fails or is
// interrupted. It prints a markdown table on stdout, progress on stderr, and
// writes the full results as JSON.
//
// The benchmarks are not tests: they need external tools (nginx, wrk) and a
// quiet machine, and `go test ./bench` only tests their pure parts.
package main
