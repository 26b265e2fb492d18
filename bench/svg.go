package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// The plots are plain SVG written by hand: a standalone document a browser
// or a markdown viewer shows as is, with no script and no dependency.

// Layout of every plot, in SVG user units (pixels at 100 %).
const (
	svgWidth       = 780.0
	svgHeight      = 460.0
	svgLeft        = 80.0  // room for the y tick labels and axis label
	svgRight       = 200.0 // room for the legend
	svgTop         = 60.0  // room for the title
	svgBottom      = 70.0  // room for the x tick labels and axis label
	svgPlotWidth   = svgWidth - svgLeft - svgRight
	svgPlotHeight  = svgHeight - svgTop - svgBottom
	svgFontFamily  = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
	svgAxisColor   = "#333333"
	svgGridColor   = "#dddddd"
	svgLimitColor  = "#777777"
	svgReference   = "#000000"
	svgDashLimit   = "7 5"
	svgDashSecond  = "2 3" // a second player mode of the same scenario
	svgMarkerSize  = 4.5
	svgLegendLineW = 28.0
	svgLegendRowH  = 22.0
)

// Scenario colours (Okabe–Ito, told apart with colour blindness too).
var svgScenarioColors = map[string]string{
	scenarioHTTP:  "#666666",
	scenarioP2P:   "#0072b2",
	scenarioSuper: "#d55e00",
	scenarioP2PML: "#009e73",
}

// peer5Reference is the published figure the offload plot shows for
// comparison: 50 % offload with 5 viewers.
var peer5Reference = struct {
	n       int
	offload float64
	label   string
}{5, 0.50, "50 % at 5 viewers (Peer5)"}

// svgDoc accumulates one SVG document.
type svgDoc struct {
	b bytes.Buffer
}

func newSVG(title string) *svgDoc {
	d := &svgDoc{}
	fmt.Fprintf(&d.b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&d.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="%s" font-size="14" role="img">`+"\n",
		num(svgWidth), num(svgHeight), num(svgWidth), num(svgHeight), svgEscape(svgFontFamily))
	fmt.Fprintf(&d.b, "<title>%s</title>\n", svgEscape(title))
	fmt.Fprintf(&d.b, `<rect class="background" x="0" y="0" width="%s" height="%s" fill="#ffffff"/>`+"\n", num(svgWidth), num(svgHeight))
	d.text(svgLeft, svgTop/2+2, "start", `class="title" font-size="17" font-weight="bold"`, title)
	return d
}

func (d *svgDoc) raw(format string, args ...any) {
	fmt.Fprintf(&d.b, format, args...)
	d.b.WriteByte('\n')
}

// text writes s, escaped, at (x, y); attrs are trusted attributes.
func (d *svgDoc) text(x, y float64, anchor, attrs, s string) {
	d.raw(`<text x="%s" y="%s" text-anchor="%s" %s>%s</text>`, num(x), num(y), anchor, attrs, svgEscape(s))
}

func (d *svgDoc) writeTo(w io.Writer) error {
	d.b.WriteString("</svg>\n")
	_, err := w.Write(d.b.Bytes())
	return err
}

// yAxis draws the horizontal grid, the y ticks and labels, the axes' lines
// and the rotated y axis label; y maps a value to its coordinate.
func (d *svgDoc) yAxis(ticks []float64, label func(float64) string, y func(float64) float64, title string) {
	for _, t := range ticks {
		yy := y(t)
		d.raw(`<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`,
			num(svgLeft), num(yy), num(svgLeft+svgPlotWidth), num(yy), svgGridColor)
		d.raw(`<line class="tick" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`,
			num(svgLeft-5), num(yy), num(svgLeft), num(yy), svgAxisColor)
		d.text(svgLeft-8, yy+4, "end", `class="tick-label" font-size="12"`, label(t))
	}
	d.raw(`<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5"/>`,
		num(svgLeft), num(svgTop), num(svgLeft), num(svgTop+svgPlotHeight), svgAxisColor)
	d.raw(`<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5"/>`,
		num(svgLeft), num(svgTop+svgPlotHeight), num(svgLeft+svgPlotWidth), num(svgTop+svgPlotHeight), svgAxisColor)
	cx, cy := 20.0, svgTop+svgPlotHeight/2
	d.raw(`<text class="axis-label" x="%s" y="%s" text-anchor="middle" transform="rotate(-90 %s %s)">%s</text>`,
		num(cx), num(cy), num(cx), num(cy), svgEscape(title))
}

// xTick draws one x tick with its label.
func (d *svgDoc) xTick(x float64, label string) {
	y0 := svgTop + svgPlotHeight
	d.raw(`<line class="tick" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, num(x), num(y0), num(x), num(y0+5), svgAxisColor)
	d.text(x, y0+20, "middle", `class="tick-label" font-size="12"`, label)
}

func (d *svgDoc) xLabel(title string) {
	d.text(svgLeft+svgPlotWidth/2, svgHeight-20, "middle", `class="axis-label"`, title)
}

// legendEntry is one line of a legend: a swatch drawn by draw at (x, y),
// the centre of the swatch, then the label.
type legendEntry struct {
	label string
	draw  func(d *svgDoc, x, y float64)
}

func (d *svgDoc) legend(entries []legendEntry) {
	x := svgLeft + svgPlotWidth + 24
	y := svgTop + 10
	d.raw(`<g class="legend">`)
	for i, e := range entries {
		yy := y + float64(i)*svgLegendRowH
		e.draw(d, x+svgLegendLineW/2, yy)
		d.text(x+svgLegendLineW+8, yy+4, "start", `class="legend-label" font-size="13"`, e.label)
	}
	d.raw(`</g>`)
}

// marker draws a point marker of the given class with data attributes.
func (d *svgDoc) marker(class string, x, y float64, color, data string) {
	d.raw(`<circle class="%s" cx="%s" cy="%s" r="%s" fill="%s" stroke="#ffffff" stroke-width="1" %s/>`,
		class, num(x), num(y), num(svgMarkerSize), color, data)
}

func (d *svgDoc) diamond(class string, x, y, r float64, color, data string) {
	d.raw(`<path class="%s" d="M %s %s L %s %s L %s %s L %s %s Z" fill="%s" %s/>`,
		class, num(x), num(y-r), num(x+r), num(y), num(x), num(y+r), num(x-r), num(y), color, data)
}

// svgSeries is one line or bar colour of a plot: a scenario, and a mode
// when the latency mixes modes.
type svgSeries struct {
	scenario, mode string
	label          string
	dash           string // "" for a solid line
	light          bool   // a second mode: bars are drawn lighter
}

func (s svgSeries) color() string {
	if c, ok := svgScenarioColors[s.scenario]; ok {
		return c
	}
	return svgAxisColor
}

// plotRows keeps the rows of one latency and lists their series (in table
// order) and their N values (ascending).
func plotRows(rows []swarmRow, latency int) ([]swarmRow, []svgSeries, []int, error) {
	var keep []swarmRow
	var modes []string
	var ns []int
	for _, r := range rows {
		if r.Latency != latency {
			continue
		}
		keep = append(keep, r)
		if !slices.Contains(modes, r.Mode) {
			modes = append(modes, r.Mode)
		}
		if !slices.Contains(ns, r.N) {
			ns = append(ns, r.N)
		}
	}
	if len(keep) == 0 {
		return nil, nil, nil, fmt.Errorf("no case at latency %d to plot", latency)
	}
	slices.SortStableFunc(keep, compareRows)
	slices.SortFunc(modes, compareModes)
	slices.Sort(ns)
	var series []svgSeries
	for _, r := range keep {
		if slices.ContainsFunc(series, func(s svgSeries) bool { return s.scenario == r.Scenario && s.mode == r.Mode }) {
			continue
		}
		s := svgSeries{scenario: r.Scenario, mode: r.Mode, label: r.Scenario}
		if len(modes) > 1 {
			s.label += " (" + r.Mode + ")"
			if r.Mode != modes[0] {
				s.dash = svgDashSecond
				s.light = true
			}
		}
		series = append(series, s)
	}
	return keep, series, ns, nil
}

func (s svgSeries) has(r swarmRow) bool { return r.Scenario == s.scenario && r.Mode == s.mode }

// fill is the fill of the series' bars and legend swatches.
func (s svgSeries) fill() string {
	if s.light {
		return fmt.Sprintf(`fill="%s" fill-opacity="0.4" stroke="%s" stroke-width="1.5"`, s.color(), s.color())
	}
	return fmt.Sprintf(`fill="%s"`, s.color())
}

func dashAttr(dash string) string {
	if dash == "" {
		return ""
	}
	return fmt.Sprintf(`stroke-dasharray="%s"`, dash)
}

// plotOffload draws offload against N for every scenario at one latency,
// with the physical limit 1 - 1/N and Peer5's published point. N is on a
// log scale so that 1, 2, 5, 10, 20 spread evenly.
func plotOffload(w io.Writer, rows []swarmRow, latency int) error {
	rows, series, ns, err := plotRows(rows, latency)
	if err != nil {
		return err
	}
	domain := slices.Clone(ns)
	if !slices.Contains(domain, peer5Reference.n) {
		domain = append(domain, peer5Reference.n)
		slices.Sort(domain)
	}
	lo, hi := math.Log(float64(domain[0])), math.Log(float64(domain[len(domain)-1]))
	span := hi - lo
	if span == 0 {
		span = math.Log(4)
		lo, hi = lo-span/2, hi+span/2
	}
	pad := 0.06 * span
	x := func(n float64) float64 {
		return svgLeft + (math.Log(n)-(lo-pad))/(span+2*pad)*svgPlotWidth
	}
	y := func(v float64) float64 {
		return svgTop + svgPlotHeight*(1-clamp01(v))
	}

	d := newSVG(fmt.Sprintf("P2P offload by audience, liveSyncDurationCount %d", latency))
	d.yAxis([]float64{0, 0.2, 0.4, 0.6, 0.8, 1}, func(v float64) string { return fmt.Sprintf("%.0f %%", 100*v) }, y,
		"offload (segment bytes from peers)")
	for _, n := range domain {
		d.xTick(x(float64(n)), strconv.Itoa(n))
	}
	d.xLabel("viewers N (log scale)")

	// The limit 1 - 1/N as a smooth curve across the plot (N >= 1).
	var pts []byte
	first, last := max(1, math.Exp(lo-pad)), math.Exp(hi+pad)
	const steps = 64
	for i := 0; i <= steps; i++ {
		n := first * math.Pow(last/first, float64(i)/steps)
		pts = fmt.Appendf(pts, "%s,%s ", num(x(n)), num(y(1-1/n)))
	}
	d.raw(`<polyline class="limit" points="%s" fill="none" stroke="%s" stroke-width="1.5" %s/>`,
		bytes.TrimSpace(pts), svgLimitColor, dashAttr(svgDashLimit))

	for _, s := range series {
		d.raw(`<g class="series" data-series="%s">`, svgEscape(s.label))
		pts = pts[:0]
		for _, r := range rows {
			if s.has(r) {
				pts = fmt.Appendf(pts, "%s,%s ", num(x(float64(r.N))), num(y(r.Offload)))
			}
		}
		d.raw(`<polyline class="line" points="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-linejoin="round" %s/>`,
			bytes.TrimSpace(pts), s.color(), dashAttr(s.dash))
		for _, r := range rows {
			if s.has(r) {
				d.marker("point", x(float64(r.N)), y(r.Offload), s.color(),
					fmt.Sprintf(`data-series="%s" data-n="%d" data-offload="%s"`, svgEscape(s.label), r.N, strconv.FormatFloat(r.Offload, 'f', 4, 64)))
			}
		}
		d.raw(`</g>`)
	}

	rx, ry := x(float64(peer5Reference.n)), y(peer5Reference.offload)
	d.diamond("reference", rx, ry, 7, svgReference,
		fmt.Sprintf(`data-n="%d" data-offload="%s"`, peer5Reference.n, strconv.FormatFloat(peer5Reference.offload, 'f', 4, 64)))
	// The label goes on the side with more room, clear of the legend, with
	// a white halo so that it stays readable across the lines.
	const labelAttrs = `class="reference-label" font-size="12" paint-order="stroke" stroke="#ffffff" stroke-width="4" stroke-linejoin="round"`
	if rx > svgLeft+svgPlotWidth/2 {
		d.text(rx-10, ry+20, "end", labelAttrs, peer5Reference.label)
	} else {
		d.text(rx+10, ry+20, "start", labelAttrs, peer5Reference.label)
	}

	var legend []legendEntry
	for _, s := range series {
		legend = append(legend, legendEntry{label: s.label, draw: func(d *svgDoc, x, y float64) {
			d.raw(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2.5" %s/>`,
				num(x-svgLegendLineW/2), num(y), num(x+svgLegendLineW/2), num(y), s.color(), dashAttr(s.dash))
			d.marker("legend-marker", x, y, s.color(), "")
		}})
	}
	legend = append(legend,
		legendEntry{label: "limit 1 − 1/N", draw: func(d *svgDoc, x, y float64) {
			d.raw(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5" %s/>`,
				num(x-svgLegendLineW/2), num(y), num(x+svgLegendLineW/2), num(y), svgLimitColor, dashAttr(svgDashLimit))
		}},
		legendEntry{label: "Peer5 (published)", draw: func(d *svgDoc, x, y float64) {
			d.diamond("legend-marker", x, y, 6, svgReference, "")
		}})
	d.legend(legend)
	return d.writeTo(w)
}

// plotEgress draws the node's egress as grouped bars: one group per N, one
// bar per scenario that ran with that N.
func plotEgress(w io.Writer, rows []swarmRow, latency int) error {
	rows, series, ns, err := plotRows(rows, latency)
	if err != nil {
		return err
	}
	top := 0.0
	for _, r := range rows {
		top = max(top, mibFloat(r.NodeEgress))
	}
	step, top := niceScale(top, 5)
	y := func(v float64) float64 {
		return svgTop + svgPlotHeight*(1-clamp01(v/top))
	}
	var ticks []float64
	for i := 0; float64(i)*step <= top*(1+1e-9); i++ {
		ticks = append(ticks, float64(i)*step)
	}

	d := newSVG(fmt.Sprintf("Node egress by audience, liveSyncDurationCount %d", latency))
	d.yAxis(ticks, func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }, y,
		"node egress, MiB (HTTP segments + seed)")
	groupW := svgPlotWidth / float64(len(ns))
	barW := groupW * 0.8 / float64(len(series))
	for gi, n := range ns {
		g0 := svgLeft + float64(gi)*groupW
		d.xTick(g0+groupW/2, strconv.Itoa(n))
		d.raw(`<g class="group" data-n="%d">`, n)
		for si, s := range series {
			i := slices.IndexFunc(rows, func(r swarmRow) bool { return s.has(r) && r.N == n })
			if i < 0 {
				continue
			}
			v := mibFloat(rows[i].NodeEgress)
			bx := g0 + groupW*0.1 + float64(si)*barW
			d.raw(`<rect class="bar" x="%s" y="%s" width="%s" height="%s" %s data-series="%s" data-n="%d" data-mib="%s"><title>%s</title></rect>`,
				num(bx), num(y(v)), num(max(barW-1, 1)), num(y(0)-y(v)), s.fill(),
				svgEscape(s.label), n, strconv.FormatFloat(v, 'f', 3, 64),
				svgEscape(fmt.Sprintf("%s, N=%d: %.1f MiB", s.label, n, v)))
		}
		d.raw(`</g>`)
	}
	d.xLabel("viewers N")

	var legend []legendEntry
	for _, s := range series {
		legend = append(legend, legendEntry{label: s.label, draw: func(d *svgDoc, x, y float64) {
			d.raw(`<rect x="%s" y="%s" width="14" height="14" %s/>`, num(x-7), num(y-7), s.fill())
		}})
	}
	d.legend(legend)
	return d.writeTo(w)
}

// niceScale picks a round tick step for [0, v] with about n ticks and the
// axis top, a multiple of the step at or above v.
func niceScale(v float64, n int) (step, top float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		return 0.2, 1
	}
	raw := v / float64(n)
	exp := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / exp; {
	case f <= 1:
		step = exp
	case f <= 2:
		step = 2 * exp
	case f <= 2.5:
		step = 2.5 * exp
	case f <= 5:
		step = 5 * exp
	default:
		step = 10 * exp
	}
	return step, math.Ceil(v/step-1e-9) * step
}

func mibFloat(n int64) float64 { return float64(n) / (1 << 20) }

func clamp01(v float64) float64 {
	if !(v > 0) {
		return 0
	}
	return min(v, 1)
}

// num formats a coordinate.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// svgEscape escapes text for SVG character data and attribute values.
func svgEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to memory: cannot fail
	return b.String()
}
