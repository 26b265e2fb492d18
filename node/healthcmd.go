package node

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// runHealth is "edgeswarm health": it asks a node's admin port whether it
// is up (/healthz) or ready (--ready: /readyz) and fails otherwise. It is
// the container image's health check, which has no shell or curl.
func runHealth(ctx context.Context, args []string, stdout, _ io.Writer, _ *slog.Logger) error {
	fs := flag.NewFlagSet("edgeswarm health", flag.ContinueOnError)
	fs.SetOutput(stdout)
	admin := fs.String("admin", "127.0.0.1:9090", "the node's admin `address`")
	ready := fs.Bool("ready", false, "ask /readyz (serving) instead of /healthz (running)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this `duration`")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return flagError{err}
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+*admin+path, nil)
	if err != nil {
		return fmt.Errorf("--admin: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", path, resp.Status)
	}
	return nil
}

// healthExit runs runHealth with exit code 1 for an unhealthy node and 2
// for a bad flag.
func healthExit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := runHealth(ctx, args, stdout, stderr, nil)
	switch {
	case err == nil, err == flag.ErrHelp:
		return 0
	case isFlagError(err):
		fmt.Fprintln(stderr, "edgeswarm health:", err)
		return 2
	}
	fmt.Fprintln(stderr, "edgeswarm health:", oneLine(err))
	return 1
}

type flagError struct{ error }

func isFlagError(err error) bool { _, ok := err.(flagError); return ok }
