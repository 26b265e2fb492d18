// Package client embeds the edgeswarm browser script and the demo page, and
// hands them to the node as ready-to-serve assets.
//
// The script's TypeScript sources live in src/ (core apart from the player
// adapters, see README.md); `go generate ./client` bundles them with
// esbuild's Go API into dist/, which is committed and embedded. A test fails
// when dist/ is stale against src/. This package never opens a listener and
// never touches the network: the node owns the routes.
package client

//go:generate go run ./internal/gen
