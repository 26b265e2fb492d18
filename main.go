// Command edgeswarm runs an edge-seeded hybrid CDN node.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgeswarm/edgeswarm/node"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	os.Exit(node.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}
