package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// writeSoakReport writes the markdown, JSON and SVG plots of a soak into
// out, prints the markdown, and fails when something leaked or stalled.
func writeSoakReport(rep *soakReport, out string, stdout io.Writer) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	base := filepath.Join(out, "soak-"+stamp)
	write := func(path string, f func(io.Writer) error) error {
		file, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := f(file); err != nil {
			file.Close()
			return fmt.Errorf("%s: %w", path, err)
		}
		return file.Close()
	}
	if err := write(base+".json", func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(rep.jsonSafe())
	}); err != nil {
		return err
	}
	if err := write(base+".md", rep.writeMarkdown); err != nil {
		return err
	}
	if len(rep.heapProfile) > 0 {
		if err := os.WriteFile(base+"-heap.pprof", rep.heapProfile, 0o644); err != nil {
			return err
		}
	}
	for _, p := range soakPlots {
		if err := write(base+"-"+p.name+".svg", func(w io.Writer) error { return plotSoak(w, rep, p) }); err != nil {
			return err
		}
	}
	if err := rep.writeMarkdown(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s.md (JSON: %s.json, plots: %s-*.svg)\n", base, base, base)
	if len(rep.Verdict.Problems) > 0 {
		return fmt.Errorf("%w: %s", errFloorMissed, strings.Join(rep.Verdict.Problems, "; "))
	}
	return nil
}

// jsonSafe replaces NaN slopes (too few samples), which JSON cannot hold.
func (r *soakReport) jsonSafe() *soakReport {
	cp := *r
	cp.Slopes = map[string]float64{}
	for k, v := range r.Slopes {
		if !math.IsNaN(v) {
			cp.Slopes[k] = v
		}
	}
	return &cp
}

func (r *soakReport) writeMarkdown(w io.Writer) error {
	s := r.Settings
	browsers := ""
	if n, ok := s["browsers"].(int); ok && n > 0 {
		browsers = fmt.Sprintf(" and %d browser%s", n, plural(n))
	}
	fmt.Fprintf(w, "## Soak: %v Go viewers%s for %v, churn every %v\n\n", s["viewers"], browsers, s["duration"], s["churn"])
	fmt.Fprintf(w, "Host: %s, %d CPUs; started %s; cache_size %v; P2P %v; samples every %v, slopes after %v of warm-up.\n\n",
		r.Host.CPU, r.Host.CPUs, r.Host.Start, s["cache_size"], s["p2p"], s["sample"], s["warmup"])
	heap := "heap MiB"
	if len(r.Samples) > 0 && r.Samples[0].HeapAfterGC {
		heap = "live heap MiB (after a forced GC)"
	}
	fmt.Fprintf(w, "| minute | phase | viewers | RSS MiB | %s | cache MiB | goroutines | fds |\n", heap)
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---:|")
	for _, sm := range r.Samples {
		fmt.Fprintf(w, "| %.1f | %s | %d | %.1f | %.1f | %.1f | %d | %d |\n", sm.Minute, sm.Phase, sm.Viewers, mibFloat(sm.RSS), mibFloat(sm.Heap), mibFloat(sm.Cache), sm.Goroutines, sm.FDs)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Slope after warm-up (least squares, per hour):")
	fmt.Fprintln(w)
	for _, p := range soakPlots {
		v := r.Slopes[p.name]
		txt := "n/a (fewer than two samples)"
		if !math.IsNaN(v) {
			txt = strconv.FormatFloat(v, 'f', 2, 64) + " " + p.unit + "/h"
		}
		fmt.Fprintf(w, "- %s: %s\n", p.title, txt)
	}
	r.writeViewers(w)
	v := r.Verdict
	fmt.Fprintf(w, "\nAfter the viewers left: goroutines back near the baseline: %v; descriptors back: %v.\n", v.GoroutinesBack, v.FDsBack)
	if len(v.Problems) == 0 {
		fmt.Fprintln(w, "Verdict: nothing leaked.")
	} else {
		fmt.Fprintf(w, "Verdict: %s.\n", strings.Join(v.Problems, "; "))
	}
	return nil
}

type soakPlot struct {
	name, title, unit string
}

var soakPlots = []soakPlot{
	{"rss_mib", "node RSS", "MiB"},
	{"heap_mib", "node Go heap in use", "MiB"},
	{"cache_mib", "node cache contents", "MiB"},
	{"goroutines", "node goroutines", "goroutines"},
	{"fds", "node open file descriptors", "fds"},
}

// plotSoak draws one measure over time: the samples as a line with
// markers, the warm-up shaded, and the after-viewers sample apart.
func plotSoak(w io.Writer, r *soakReport, p soakPlot) error {
	f := soakMetrics[p.name]
	if len(r.Samples) == 0 {
		return fmt.Errorf("no samples")
	}
	topX := r.Samples[len(r.Samples)-1].Minute
	topV := 0.0
	for _, sm := range r.Samples {
		topV = max(topV, f(sm))
	}
	stepX, topX := niceScale(max(topX, 1), 6)
	step, top := niceScale(topV, 5)
	x := func(m float64) float64 { return svgLeft + svgPlotWidth*clamp01(m/topX) }
	y := func(v float64) float64 { return svgTop + svgPlotHeight*(1-clamp01(v/top)) }
	var ticks []float64
	for i := 0; float64(i)*step <= top*(1+1e-9); i++ {
		ticks = append(ticks, float64(i)*step)
	}
	d := newSVG(fmt.Sprintf("Soak: %s, %v viewers, churn %v", p.title, r.Settings["viewers"], r.Settings["churn"]))
	if wu, err := time.ParseDuration(fmt.Sprint(r.Settings["warmup"])); err == nil {
		d.raw(`<rect class="warmup" x="%s" y="%s" width="%s" height="%s" fill="#f3f3f3"><title>warm-up, left out of the slope</title></rect>`,
			num(svgLeft), num(svgTop), num(x(wu.Minutes())-svgLeft), num(svgPlotHeight))
	}
	d.yAxis(ticks, func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }, y, p.title+", "+p.unit)
	for i := 0; float64(i)*stepX <= topX*(1+1e-9); i++ {
		d.xTick(x(float64(i)*stepX), strconv.FormatFloat(float64(i)*stepX, 'g', 4, 64))
	}
	d.xLabel("minutes since the viewers started joining")
	const color = "#0072b2"
	var pts []string
	for _, sm := range r.Samples {
		if sm.Phase != "after" {
			pts = append(pts, num(x(sm.Minute))+","+num(y(f(sm))))
		}
	}
	d.raw(`<polyline class="series" points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(pts, " "), color)
	for _, sm := range r.Samples {
		data := fmt.Sprintf(`data-minute="%.2f" data-value="%.2f" data-phase="%s"`, sm.Minute, f(sm), sm.Phase)
		if sm.Phase == "after" {
			d.diamond("after", x(sm.Minute), y(f(sm)), 6, "#d55e00", data)
			continue
		}
		d.marker("sample", x(sm.Minute), y(f(sm)), color, data)
	}
	legend := []legendEntry{
		{label: "sampled", draw: func(d *svgDoc, x, y float64) { d.marker("legend", x, y, color, "") }},
		{label: "after viewers left", draw: func(d *svgDoc, x, y float64) { d.diamond("legend", x, y, 6, "#d55e00", "") }},
	}
	if v := r.Slopes[p.name]; !math.IsNaN(v) {
		legend = append(legend, legendEntry{label: "slope " + strconv.FormatFloat(v, 'f', 1, 64) + " " + p.unit + "/h", draw: func(*svgDoc, float64, float64) {}})
	}
	d.legend(slices.Clip(legend))
	return d.writeTo(w)
}

// viewerTotals sums what one kind of viewer received.
type viewerTotals struct {
	sessions, stalls, errs int
	stallS, watchedS       float64
	http, p2p, seed        int64
}

func (t viewerTotals) row(w io.Writer, kind string) {
	all := t.http + t.p2p + t.seed
	eff := 0.0
	if all > 0 {
		eff = float64(t.p2p+t.seed) / float64(all)
	}
	fmt.Fprintf(w, "| %s | %d | %.1f | %d | %.1f | %d | %s | %s | %s | %.0f %% |\n", kind, t.sessions, t.watchedS/60, t.stalls, t.stallS, t.errs,
		formatBytes(t.http), formatBytes(t.p2p), formatBytes(t.seed), 100*eff)
}

// writeViewers writes what the Go viewers and the browsers received, side
// by side, then each browser.
func (r *soakReport) writeViewers(w io.Writer) {
	var gov viewerTotals
	var segs, joinErrs int
	firstErr := ""
	for _, v := range r.Viewers {
		gov.sessions++
		segs, gov.stalls, gov.errs = segs+v.Segments, gov.stalls+v.Stalls, gov.errs+v.Errors
		gov.http, gov.p2p, gov.seed = gov.http+v.HTTP, gov.p2p+v.P2P, gov.seed+v.Seed
		gov.stallS, gov.watchedS = gov.stallS+v.StallS, gov.watchedS+v.WatchedS
		if v.JoinError != "" {
			joinErrs++
		}
		if firstErr == "" {
			firstErr = v.FirstErr
		}
	}
	var br viewerTotals
	for _, b := range r.Browsers {
		br.sessions++
		br.stalls, br.errs, br.stallS, br.watchedS = br.stalls+b.Stalls, br.errs+len(b.Errors), br.stallS+b.StallMs/1000, br.watchedS+b.PlayedS
		br.http, br.p2p, br.seed = br.http+b.Bytes.HTTP, br.p2p+b.Bytes.P2P, br.seed+b.Bytes.Seed
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| viewers | sessions | watched min | stalls | stalled s | errors | HTTP | P2P | seed | from peers |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	gov.row(w, "Go (testpeer)")
	if n, ok := r.Settings["browsers"].(int); len(r.Browsers) > 0 || ok && n > 0 {
		br.row(w, "Chromium")
	}
	fmt.Fprintf(w, "\nGo viewers: %d segments, %d joins failed", segs, joinErrs)
	if firstErr != "" {
		fmt.Fprintf(w, "; first error: %s", firstErr)
	}
	fmt.Fprintln(w, ".")
	if len(r.Browsers) == 0 && len(r.BrowserErrors) == 0 {
		return
	}
	// A browser watches for the whole soak; "watched" is what it played.
	fmt.Fprintf(w, "\nBrowsers (%s; their processes are not the node's and are not sampled):\n\n", orDefault(r.Browser, "Chromium"))
	fmt.Fprintln(w, "| browser | start-up s | played min | stalls | stalled s | peers | P2P failures | HTTP | P2P | seed | first error |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, b := range r.Browsers {
		startup := "never played"
		if b.StartupMs != nil {
			startup = strconv.FormatFloat(*b.StartupMs/1000, 'f', 1, 64)
		}
		first := ""
		if len(b.Errors) > 0 {
			first = strings.ReplaceAll(b.Errors[0], "|", "/")
		}
		fmt.Fprintf(w, "| %s | %s | %.1f | %d | %.1f | %d | %d | %s | %s | %s | %s |\n", b.Name, startup, b.PlayedS/60, b.Stalls, b.StallMs/1000, b.Peers, b.P2PFailures,
			formatBytes(b.Bytes.HTTP), formatBytes(b.Bytes.P2P), formatBytes(b.Bytes.Seed), first)
	}
	for _, e := range r.BrowserErrors {
		fmt.Fprintf(w, "\nBrowser runner: %s\n", strings.SplitN(e, "\n", 2)[0])
	}
}

// orDefault returns s, or fallback when s is empty.
func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
