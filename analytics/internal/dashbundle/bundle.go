// Package dashbundle builds the dashboard's script and style from
// analytics/dashboard with esbuild's Go API, so that neither the node's
// build nor the staleness test needs npm (uPlot is vendored by dashgen).
package dashbundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Banner opens the script.
const Banner = "/*! edgeswarm dashboard | Apache-2.0; includes uPlot (MIT, vendor/LICENSE.uplot) */"

// Build compiles the dashboard in dir (the folder holding src/ and
// vendor/) and returns app.js (an IIFE) and app.css by name.
func Build(dir string) (map[string][]byte, error) {
	r := api.Build(api.BuildOptions{
		AbsWorkingDir:     dir,
		EntryPoints:       []string{"src/main.ts"},
		Bundle:            true,
		Format:            api.FormatIIFE,
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
		return nil, fmt.Errorf("bundle app.js: %s", strings.Join(msgs, "\n"))
	}
	if len(r.OutputFiles) != 1 {
		return nil, errors.New("bundle app.js: expected one output file")
	}
	var css []byte
	for _, name := range []string{"vendor/uPlot.min.css", "src/style.css"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("bundle app.css: %w", err)
		}
		css = append(append(css, b...), '\n')
	}
	return map[string][]byte{"app.js": r.OutputFiles[0].Contents, "app.css": css}, nil
}
