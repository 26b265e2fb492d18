package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// svgElem is one element of a parsed SVG document.
type svgElem struct {
	name  string
	attrs map[string]string
	text  string   // character data directly inside
	path  []string // names of the enclosing elements, outermost first
}

func (e svgElem) num(t testing.TB, attr string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attrs[attr], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", e.name, attr, e.attrs[attr], err)
	}
	return v
}

// parseSVG checks that data is one well-formed standalone SVG document with
// a size, a viewBox and a title, and returns its elements in document order.
func parseSVG(t testing.TB, data []byte) []svgElem {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var elems []svgElem
	var open []int // indexes into elems
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, data)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := svgElem{name: tok.Name.Local, attrs: map[string]string{}}
			for _, i := range open {
				e.path = append(e.path, elems[i].name)
			}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			if len(elems) == 0 && tok.Name.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("root element in namespace %q", tok.Name.Space)
			}
			elems = append(elems, e)
			open = append(open, len(elems)-1)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 {
				elems[open[len(open)-1]].text += string(tok)
			}
		}
	}
	if len(elems) == 0 || elems[0].name != "svg" {
		t.Fatalf("root is not <svg>:\n%s", data)
	}
	root := elems[0]
	for _, a := range []string{"width", "height", "viewBox"} {
		if root.attrs[a] == "" {
			t.Errorf("<svg> lacks %s", a)
		}
	}
	if len(elems) < 2 || elems[1].name != "title" || elems[1].text == "" {
		t.Errorf("the first child of <svg> is not a <title>")
	}
	return elems
}

func byClass(elems []svgElem, class string) []svgElem {
	var out []svgElem
	for _, e := range elems {
		if e.attrs["class"] == class {
			out = append(out, e)
		}
	}
	return out
}

func texts(elems []svgElem) string {
	var b strings.Builder
	for _, e := range elems {
		if e.name == "text" || e.name == "title" {
			b.WriteString(e.text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func plot(t testing.TB, f func(io.Writer, []swarmRow, int) error, rows []swarmRow, latency int) []svgElem {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b, rows, latency); err != nil {
		t.Fatal(err)
	}
	return parseSVG(t, b.Bytes())
}

func TestPlotOffload(t *testing.T) {
	rows := summarize(readSwarmSample(t))
	elems := plot(t, plotOffload, rows, 3)
	all := texts(elems)
	for _, want := range []string{"liveSyncDurationCount 3", "50 % at 5 viewers (Peer5)", "viewers N (log scale)", "offload (segment bytes from peers)", "limit 1 − 1/N", "100 %"} {
		if !strings.Contains(all, want) {
			t.Errorf("plot lacks the text %q", want)
		}
	}

	series := byClass(elems, "series")
	var names []string
	for _, s := range series {
		names = append(names, s.attrs["data-series"])
	}
	if want := []string{"http", "p2p", "super"}; !slices.Equal(names, want) {
		t.Errorf("series %v, want %v", names, want)
	}
	points := byClass(elems, "point")
	perSeries := map[string]int{}
	for _, p := range points {
		perSeries[p.attrs["data-series"]]++
	}
	if want := map[string]int{"http": 2, "p2p": 1, "super": 2}; len(points) != 5 || len(perSeries) != 3 ||
		perSeries["http"] != want["http"] || perSeries["p2p"] != want["p2p"] || perSeries["super"] != want["super"] {
		t.Errorf("points per series %v, want %v", perSeries, want)
	}
	if n := len(byClass(elems, "line")); n != 3 {
		t.Errorf("%d lines, want 3", n)
	}
	limit := byClass(elems, "limit")
	if len(limit) != 1 || limit[0].attrs["stroke-dasharray"] == "" {
		t.Errorf("want one dashed limit line, got %+v", limit)
	}
	assertLimitCurve(t, limit[0].attrs["points"])
	ref := byClass(elems, "reference")
	if len(ref) != 1 {
		t.Fatalf("want one reference marker, got %d", len(ref))
	}

	// Higher offload is drawn higher (smaller y), more viewers further right.
	type pt struct{ n, offload, x, y float64 }
	var pts []pt
	for _, p := range points {
		pts = append(pts, pt{p.num(t, "data-n"), p.num(t, "data-offload"), p.num(t, "cx"), p.num(t, "cy")})
	}
	for _, a := range pts {
		for _, b := range pts {
			if a.offload > b.offload && !(a.y < b.y) {
				t.Errorf("offload %v drawn at y=%v, not above offload %v at y=%v", a.offload, a.y, b.offload, b.y)
			}
			if a.offload == b.offload && a.y != b.y {
				t.Errorf("offload %v drawn at y=%v and y=%v", a.offload, a.y, b.y)
			}
			if a.n > b.n && !(a.x > b.x) {
				t.Errorf("N=%v drawn at x=%v, not right of N=%v at x=%v", a.n, a.x, b.n, b.x)
			}
		}
	}
	// Super at N=5 (60 %) is above the Peer5 point (50 %), at the same x.
	refY := ref[0].attrs["d"]
	for _, p := range pts {
		if p.n == 5 && p.offload == 0.6 {
			fields := strings.Fields(refY) // "M x y-r L x+r y ..."
			rx, _ := strconv.ParseFloat(fields[1], 64)
			ry, _ := strconv.ParseFloat(fields[5], 64)
			if rx != p.x || !(p.y < ry) {
				t.Errorf("super N=5 at (%v, %v), Peer5 at (%v, %v)", p.x, p.y, rx, ry)
			}
		}
	}
	// http is drawn on the 0 % line.
	for _, p := range pts {
		if p.offload == 0 && p.y != svgTop+svgPlotHeight {
			t.Errorf("0 %% drawn at y=%v, want the x axis at %v", p.y, svgTop+svgPlotHeight)
		}
	}
}

func TestPlotOffloadOneN(t *testing.T) {
	// One N, not 5: the axis still spans the Peer5 point, and nothing is
	// drawn outside the plot area.
	rows := []swarmRow{{Scenario: "super", Latency: 9, Mode: "virtual", N: 20, Offload: 0.9, Limit: 0.95}}
	elems := plot(t, plotOffload, rows, 9)
	for _, e := range append(byClass(elems, "point"), byClass(elems, "reference")...) {
		if e.name == "circle" {
			x, y := e.num(t, "cx"), e.num(t, "cy")
			if x < svgLeft || x > svgLeft+svgPlotWidth || y < svgTop || y > svgTop+svgPlotHeight {
				t.Errorf("point at (%v, %v) outside the plot", x, y)
			}
		}
	}
	limit := byClass(elems, "limit")
	if len(limit) != 1 {
		t.Fatalf("%d limit lines, want 1", len(limit))
	}
	assertLimitCurve(t, limit[0].attrs["points"])
	if n := len(byClass(elems, "series")); n != 1 {
		t.Errorf("%d series, want 1", n)
	}
	if !strings.Contains(texts(elems), "liveSyncDurationCount 9") {
		t.Error("title lacks the latency")
	}
}

func TestPlotEgress(t *testing.T) {
	rows := summarize(readSwarmSample(t))
	elems := plot(t, plotEgress, rows, 3)
	if !strings.Contains(texts(elems), "liveSyncDurationCount 3") {
		t.Error("title lacks the latency")
	}
	groups := byClass(elems, "group")
	if len(groups) != 2 || groups[0].attrs["data-n"] != "2" || groups[1].attrs["data-n"] != "5" {
		t.Errorf("groups %+v, want N=2 then N=5", groups)
	}
	bars := byClass(elems, "bar")
	var got []string
	for _, b := range bars {
		got = append(got, b.attrs["data-series"]+"@"+b.attrs["data-n"])
	}
	// p2p has no case with 5 viewers: no bar, not a zero bar.
	if want := []string{"http@2", "p2p@2", "super@2", "http@5", "super@5"}; !slices.Equal(got, want) {
		t.Errorf("bars %v, want %v", got, want)
	}
	legend := 0
	for _, e := range elems {
		if e.name == "text" && e.attrs["class"] == "legend-label" {
			legend++
		}
	}
	if legend != 3 {
		t.Errorf("%d legend entries, want 3", legend)
	}
	base := svgTop + svgPlotHeight
	for _, a := range bars {
		ay, ah, av := a.num(t, "y"), a.num(t, "height"), a.num(t, "data-mib")
		if d := ay + ah - base; d > 0.2 || d < -0.2 {
			t.Errorf("%s bar does not stand on the axis: y+height = %v", a.attrs["data-series"], ay+ah)
		}
		if ay < svgTop-0.1 {
			t.Errorf("bar %v MiB leaves the plot: y = %v", av, ay)
		}
		for _, b := range bars {
			if bv := b.num(t, "data-mib"); av > bv && !(ah > b.num(t, "height")) {
				t.Errorf("%v MiB bar not taller than %v MiB bar", av, bv)
			}
		}
	}
	// Bars of one group do not overlap and stay in the group's order.
	for i := 1; i < len(bars); i++ {
		if bars[i].num(t, "x") <= bars[i-1].num(t, "x")+bars[i-1].num(t, "width")-0.1 {
			t.Errorf("bar %d overlaps bar %d", i, i-1)
		}
	}
}

func TestPlotEgressZero(t *testing.T) {
	rows := []swarmRow{{Scenario: "http", Latency: 3, Mode: "virtual", N: 1}}
	elems := plot(t, plotEgress, rows, 3)
	bars := byClass(elems, "bar")
	if len(bars) != 1 || bars[0].num(t, "height") != 0 {
		t.Errorf("want one empty bar, got %+v", bars)
	}
}

func TestPlotMixedModes(t *testing.T) {
	rows := []swarmRow{
		{Scenario: "super", Latency: 3, Mode: "video", N: 5, Offload: 0.5, NodeEgress: 3 << 20},
		{Scenario: "super", Latency: 3, Mode: "virtual", N: 5, Offload: 0.6, NodeEgress: 2 << 20},
	}
	elems := plot(t, plotOffload, rows, 3)
	series := byClass(elems, "series")
	if len(series) != 2 || series[0].attrs["data-series"] != "super (virtual)" || series[1].attrs["data-series"] != "super (video)" {
		t.Fatalf("series %+v", series)
	}
	lines := byClass(elems, "line")
	if lines[0].attrs["stroke-dasharray"] != "" || lines[1].attrs["stroke-dasharray"] == "" {
		t.Errorf("the second mode is not told apart by its dash: %+v", lines)
	}
	bars := byClass(plot(t, plotEgress, rows, 3), "bar")
	if len(bars) != 2 {
		t.Fatalf("%d bars, want 2", len(bars))
	}
	if bars[0].attrs["fill-opacity"] != "" || bars[1].attrs["fill-opacity"] == "" {
		t.Errorf("the second mode's bars are not drawn lighter: %+v", bars)
	}
}

func TestPlotEscapesText(t *testing.T) {
	rows := []swarmRow{{Scenario: `<b>"x" & 'y'</b>`, Latency: 3, Mode: "virtual", N: 2, Offload: 0.3}}
	for _, f := range []func(io.Writer, []swarmRow, int) error{plotOffload, plotEgress} {
		elems := plot(t, f, rows, 3)
		if !strings.Contains(texts(elems), `<b>"x" & 'y'</b>`) {
			t.Errorf("the label did not survive escaping:\n%s", texts(elems))
		}
		for _, e := range elems {
			if e.name == "b" {
				t.Error("text became markup")
			}
		}
	}
}

func TestPlotWithoutCases(t *testing.T) {
	rows := []swarmRow{{Scenario: "http", Latency: 3, Mode: "virtual", N: 2}}
	for _, f := range []func(io.Writer, []swarmRow, int) error{plotOffload, plotEgress} {
		var b bytes.Buffer
		if err := f(&b, rows, 9); err == nil || !strings.Contains(err.Error(), "latency 9") {
			t.Errorf("err = %v, want one naming latency 9", err)
		}
		if b.Len() != 0 {
			t.Error("wrote a partial document")
		}
	}
}

func TestNiceScale(t *testing.T) {
	tests := []struct {
		v, step, top float64
	}{
		{0, 0.2, 1},
		{1, 0.2, 1},
		{16, 5, 20},
		{40, 10, 40},
		{41, 10, 50},
		{120, 25, 125},
		{0.3, 0.1, 0.3},
		{7, 2, 8},
	}
	for _, tt := range tests {
		step, top := niceScale(tt.v, 5)
		if !near(step, tt.step) || !near(top, tt.top) {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tt.v, step, top, tt.step, tt.top)
		}
	}
}

// assertLimitCurve checks that the limit 1 - 1/N rises from left to right,
// spans most of the plot's width and stays inside the plot.
func assertLimitCurve(t testing.TB, points string) {
	t.Helper()
	pairs := strings.Fields(points)
	if len(pairs) < 2 {
		t.Fatalf("limit has %d points", len(pairs))
	}
	var xs, ys []float64
	for _, p := range pairs {
		xy := strings.Split(p, ",")
		x, errX := strconv.ParseFloat(xy[0], 64)
		y, errY := strconv.ParseFloat(xy[len(xy)-1], 64)
		if len(xy) != 2 || errX != nil || errY != nil {
			t.Fatalf("bad point %q", p)
		}
		if x < svgLeft || x > svgLeft+svgPlotWidth || y < svgTop || y > svgTop+svgPlotHeight {
			t.Errorf("limit point (%v, %v) outside the plot", x, y)
		}
		xs, ys = append(xs, x), append(ys, y)
	}
	for i := 1; i < len(xs); i++ {
		if !(xs[i] > xs[i-1]) || ys[i] > ys[i-1] {
			t.Errorf("limit does not rise at point %d: %v", i, pairs[i-1:i+1])
		}
	}
	if w := xs[len(xs)-1] - xs[0]; w < svgPlotWidth/2 {
		t.Errorf("limit spans %v of %v", w, svgPlotWidth)
	}
}
