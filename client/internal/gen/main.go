// Command gen writes the browser bundle into client/dist (run by go generate
// in client/), and copies hls.js' light build for the demo page when the npm
// packages are installed.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgeswarm/edgeswarm/client/internal/bundle"
)

func main() {
	if err := run("."); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	files, err := bundle.Build(mustAbs(dir))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "dist", "vendor"), 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, "dist", name), b, 0o644); err != nil {
			return err
		}
	}
	hls := filepath.Join(dir, "node_modules", "hls.js")
	for src, dst := range map[string]string{"dist/hls.light.min.js": "hls.light.min.js", "LICENSE": "LICENSE.hls.js"} {
		b, err := os.ReadFile(filepath.Join(hls, src))
		if os.IsNotExist(err) {
			continue // npm packages not installed: keep the committed copy
		} else if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "dist", "vendor", dst), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
