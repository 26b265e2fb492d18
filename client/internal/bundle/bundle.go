// Package bundle builds the browser script from client/src with esbuild's
// Go API, so that neither the node's build nor its staleness test needs npm.
package bundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Banner opens every bundle.
const Banner = "/*! edgeswarm browser client | Apache-2.0 */"

// Build compiles the client in dir (the folder holding src/) and returns the
// bundle files by name: edgeswarm.js (IIFE, global edgeswarm), edgeswarm.mjs
// (ES module) and edgeswarm.d.ts (types).
func Build(dir string) (map[string][]byte, error) {
	out := make(map[string][]byte, 3)
	for _, f := range []struct {
		name   string
		format api.Format
	}{{"edgeswarm.js", api.FormatIIFE}, {"edgeswarm.mjs", api.FormatESModule}} {
		r := api.Build(api.BuildOptions{
			AbsWorkingDir:     dir,
			EntryPoints:       []string{"src/index.ts"},
			Bundle:            true,
			Format:            f.format,
			GlobalName:        "edgeswarm",
			Target:            api.ES2020,
			Platform:          api.PlatformBrowser,
			MinifyWhitespace:  true,
			MinifyIdentifiers: true,
			MinifySyntax:      true,
			LegalComments:     api.LegalCommentsNone,
			Banner:            map[string]string{"js": Banner},
			Charset:           api.CharsetUTF8,
			Write:             false,
			LogLevel:          api.LogLevelSilent,
		})
		if len(r.Errors) > 0 {
			msgs := api.FormatMessages(r.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
			return nil, fmt.Errorf("bundle %s: %s", f.name, strings.Join(msgs, "\n"))
		}
		if len(r.OutputFiles) != 1 {
			return nil, errors.New("bundle " + f.name + ": expected one output file")
		}
		out[f.name] = r.OutputFiles[0].Contents
	}
	types, err := os.ReadFile(filepath.Join(dir, "src", "api.ts"))
	if err != nil {
		return nil, fmt.Errorf("bundle types: %w", err)
	}
	tail, err := os.ReadFile(filepath.Join(dir, "src", "exports.d.txt"))
	if err != nil {
		return nil, fmt.Errorf("bundle types: %w", err)
	}
	out["edgeswarm.d.ts"] = append(append([]byte(Banner+"\n"), types...), tail...)
	return out, nil
}
