// Command dashgen writes the dashboard bundle into analytics/dashboard/dist
// (run by go generate in analytics/), after refreshing the vendored uPlot
// from the npm package when it is installed.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgeswarm/edgeswarm/analytics/internal/dashbundle"
)

func main() {
	if err := run("dashboard"); err != nil {
		fmt.Fprintln(os.Stderr, "dashgen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	up := filepath.Join(dir, "node_modules", "uplot")
	for src, dst := range map[string]string{
		"dist/uPlot.esm.js": "uPlot.esm.js", "dist/uPlot.d.ts": "uPlot.esm.d.ts",
		"dist/uPlot.min.css": "uPlot.min.css", "LICENSE": "LICENSE.uplot",
	} {
		b, err := os.ReadFile(filepath.Join(up, src))
		if os.IsNotExist(err) {
			continue // npm packages not installed: keep the committed copy
		} else if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "vendor", dst), b, 0o644); err != nil {
			return err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	files, err := dashbundle.Build(abs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "dist"), 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, "dist", name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
