package check

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "stream %s\n", r.URL)
	if r.PageOrigin != "" {
		fmt.Fprintf(&b, "page origin %s\n", r.PageOrigin)
	}
	what := "master playlist"
	if len(r.Renditions) > 0 && r.Renditions[0].Representation != "" {
		what = "DASH manifest"
	}
	writeResponse(&b, "", what, r.Master)
	writeFindings(&b, "  ", r.Findings)
	for i, rd := range r.Renditions {
		if rd.Representation != "" {
			fmt.Fprintf(&b, "\nrepresentation %d: %s (%s)\n", i+1, rd.Representation, rd.ContentType)
			fmt.Fprintf(&b, "  segments: %s, %d listed, %.1f s (segment duration %.1f s)\n", rd.Kind, rd.Segments, rd.LengthSeconds, rd.TargetDuration)
		} else {
			fmt.Fprintf(&b, "\nrendition %d: %s\n", i+1, rd.Playlist.URL)
		}
		if rd.Playlist.Status == 200 && rd.Representation == "" {
			fmt.Fprintf(&b, "  playlist: %s, %d segments, %.1f s (target duration %.0f s)\n", rd.Kind, rd.Segments, rd.LengthSeconds, rd.TargetDuration)
		}
		if rd.Representation == "" {
			writeResponse(&b, "  ", "playlist", rd.Playlist)
		}
		if len(rd.Samples) > 0 {
			sizes := make([]string, 0, len(rd.Samples))
			for _, s := range rd.Samples {
				if s.Status == 200 {
					sizes = append(sizes, formatBytes(s.Bytes))
				} else {
					sizes = append(sizes, fmt.Sprintf("status %d", s.Status))
				}
			}
			fmt.Fprintf(&b, "  segments sampled: %s\n", strings.Join(sizes, ", "))
			writeResponse(&b, "  ", "segment", rd.Samples[len(rd.Samples)-1])
		}
		switch k := rd.Keys; {
		case k.Compared == 0:
			fmt.Fprintf(&b, "  keys: not compared (the two fetches share no media sequence number)\n")
		case k.Differing == 0:
			fmt.Fprintf(&b, "  keys: %d segment URLs identical across two fetches\n", k.Compared)
		case k.QueryOnly:
			fmt.Fprintf(&b, "  keys: %d of %d segment URLs differ in the query only (dropped from the content key)\n", k.Differing, k.Compared)
		case k.Rewrite != nil && k.Verified:
			fmt.Fprintf(&b, "  keys: %d of %d segment URLs differ in a path part; the rewrite below makes them one key (checked)\n", k.Differing, k.Compared)
		default:
			fmt.Fprintf(&b, "  keys: %d of %d segment URLs differ, e.g. %s vs %s\n", k.Differing, k.Compared, k.Example[0], k.Example[1])
		}
		writeFindings(&b, "  ", rd.Findings)
	}
	if len(r.Rewrites) > 0 {
		b.WriteString("\nadd to the node's configuration (the rules match the paths as checked: check the\nnode's public URL of the stream, or adapt the prefix to the route's):\n\nupstream:\n  key:\n    rewrites:\n")
		for _, rw := range r.Rewrites {
			fmt.Fprintf(&b, "      - {match: %s, replace: %s}\n", yamlQuote(rw.Match), yamlQuote(rw.Replace))
		}
	}
	fmt.Fprintf(&b, "\nverdict: %s\n", verdictText(r.Verdict))
	for _, reason := range r.Reasons {
		fmt.Fprintf(&b, "  - %s\n", reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeResponse(b *strings.Builder, indent, what string, r Response) {
	if r.Status == 0 {
		return
	}
	fmt.Fprintf(b, "%s%s cache: %s\n", indent, what, r.Cache.Summary)
	if r.CORS != nil {
		fmt.Fprintf(b, "%s%s CORS: %s\n", indent, what, r.CORS.Message)
	}
}

func writeFindings(b *strings.Builder, indent string, fs []Finding) {
	for _, f := range fs {
		fmt.Fprintf(b, "%s%s: %s\n", indent, f.Severity, f.Message)
	}
}

func verdictText(v Verdict) string {
	switch v {
	case VerdictOK:
		return "ok"
	case VerdictWarnings:
		return "works, with warnings"
	}
	return "P2P will not work"
}

// yamlQuote writes s as a double-quoted YAML scalar.
func yamlQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
