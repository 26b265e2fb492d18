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
	fmt.Fprintf(w, "## Soak: %v Go viewers for %v, churn every %v\n\n", s["viewers"], s["duration"], s["churn"])
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
	var segs, stalls, errs, joinErrs int
	var httpB, p2pB, seedB int64
	var stallS float64
	firstErr := ""
	for _, v := range r.Viewers {
		segs, stalls, errs = segs+v.Segments, stalls+v.Stalls, errs+v.Errors
		httpB, p2pB, seedB, stallS = httpB+v.HTTP, p2pB+v.P2P, seedB+v.Seed, stallS+v.StallS
		if v.JoinError != "" {
			joinErrs++
		}
		if firstErr == "" {
			firstErr = v.FirstErr
		}
	}
	all := httpB + p2pB + seedB
	eff := 0.0
	if all > 0 {
		eff = float64(p2pB+seedB) / float64(all)
	}
	fmt.Fprintf(w, "\nViewers: %d sessions, %d segments, %d stalls (%.1f s), %d errors (%d joins failed); bytes http %s, p2p %s, seed %s (peer efficiency %.0f %%).\n",
		len(r.Viewers), segs, stalls, stallS, errs, joinErrs, formatBytes(httpB), formatBytes(p2pB), formatBytes(seedB), 100*eff)
	if firstErr != "" {
		fmt.Fprintf(w, "First viewer error: %s\n", firstErr)
	}
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
