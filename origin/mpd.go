package origin

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/wire"
)

// The DASH manifest (MPD, ISO/IEC 23009-1) as typed structs: only the parts
// the node needs to find a Representation's init and media segments and how
// long the document stays valid. encoding/xml ignores everything else.

type mpdXML struct {
	XMLName                   xml.Name    `xml:"MPD"`
	Type                      string      `xml:"type,attr"`
	MinimumUpdatePeriod       string      `xml:"minimumUpdatePeriod,attr"`
	AvailabilityStartTime     string      `xml:"availabilityStartTime,attr"`
	AvailabilityEndTime       string      `xml:"availabilityEndTime,attr"`
	MediaPresentationDuration string      `xml:"mediaPresentationDuration,attr"`
	TimeShiftBufferDepth      string      `xml:"timeShiftBufferDepth,attr"`
	BaseURLs                  []string    `xml:"BaseURL"`
	Periods                   []mpdPeriod `xml:"Period"`
}

type mpdPeriod struct {
	ID              string             `xml:"id,attr"`
	Start           string             `xml:"start,attr"`
	Duration        string             `xml:"duration,attr"`
	BaseURLs        []string           `xml:"BaseURL"`
	SegmentBase     *mpdSegmentBase    `xml:"SegmentBase"`
	SegmentList     *mpdSegmentList    `xml:"SegmentList"`
	SegmentTemplate *mpdTemplate       `xml:"SegmentTemplate"`
	AdaptationSets  []mpdAdaptationSet `xml:"AdaptationSet"`
}

type mpdAdaptationSet struct {
	ID              string              `xml:"id,attr"`
	ContentType     string              `xml:"contentType,attr"`
	MimeType        string              `xml:"mimeType,attr"`
	BaseURLs        []string            `xml:"BaseURL"`
	SegmentBase     *mpdSegmentBase     `xml:"SegmentBase"`
	SegmentList     *mpdSegmentList     `xml:"SegmentList"`
	SegmentTemplate *mpdTemplate        `xml:"SegmentTemplate"`
	Representations []mpdRepresentation `xml:"Representation"`
}

type mpdRepresentation struct {
	ID              string          `xml:"id,attr"`
	Bandwidth       string          `xml:"bandwidth,attr"`
	MimeType        string          `xml:"mimeType,attr"`
	Codecs          string          `xml:"codecs,attr"`
	BaseURLs        []string        `xml:"BaseURL"`
	SegmentBase     *mpdSegmentBase `xml:"SegmentBase"`
	SegmentList     *mpdSegmentList `xml:"SegmentList"`
	SegmentTemplate *mpdTemplate    `xml:"SegmentTemplate"`
}

type mpdURL struct {
	SourceURL string `xml:"sourceURL,attr"`
	Range     string `xml:"range,attr"`
}

// Attributes that inherit field by field from Period to AdaptationSet to
// Representation are pointers or strings: nil or "" means "not given here".

type mpdSegmentBase struct {
	Timescale      *uint64 `xml:"timescale,attr"`
	IndexRange     string  `xml:"indexRange,attr"`
	Initialization *mpdURL `xml:"Initialization"`
}

type mpdSegmentList struct {
	Timescale      *uint64         `xml:"timescale,attr"`
	Duration       *uint64         `xml:"duration,attr"`
	StartNumber    *uint64         `xml:"startNumber,attr"`
	Initialization *mpdURL         `xml:"Initialization"`
	SegmentURLs    []mpdSegmentURL `xml:"SegmentURL"`
}

type mpdSegmentURL struct {
	Media      string `xml:"media,attr"`
	MediaRange string `xml:"mediaRange,attr"`
}

type mpdTemplate struct {
	Media                  string       `xml:"media,attr"`
	Initialization         string       `xml:"initialization,attr"`
	Timescale              *uint64      `xml:"timescale,attr"`
	Duration               *uint64      `xml:"duration,attr"`
	StartNumber            *uint64      `xml:"startNumber,attr"`
	EndNumber              *uint64      `xml:"endNumber,attr"`
	PresentationTimeOffset *uint64      `xml:"presentationTimeOffset,attr"`
	InitElement            *mpdURL      `xml:"Initialization"`
	Timeline               *mpdTimeline `xml:"SegmentTimeline"`
}

type mpdTimeline struct {
	S []mpdS `xml:"S"`
}

type mpdS struct {
	T *uint64 `xml:"t,attr"`
	D uint64  `xml:"d,attr"`
	R int64   `xml:"r,attr"`
}

// MPDInfo is what the node needs to know about a DASH manifest. URIs are
// public references as in PlaylistInfo.
type MPDInfo struct {
	// Dynamic is MPD@type="dynamic" (live): the document may change.
	Dynamic bool
	// MinimumUpdatePeriod is MPD@minimumUpdatePeriod; HasUpdatePeriod says
	// whether the attribute was there (a dynamic MPD without it never
	// changes).
	MinimumUpdatePeriod time.Duration
	HasUpdatePeriod     bool
	// AvailabilityStartTime and AvailabilityEndTime, zero when absent.
	AvailabilityStartTime time.Time
	AvailabilityEndTime   time.Time
	// TimeShiftBufferDepth is the live window (0: absent).
	TimeShiftBufferDepth time.Duration
	// Representations lists every Representation of every Period, in
	// document order. The same Representation@id in several Periods is
	// listed once per Period (each with its own segments).
	Representations []RepresentationInfo
}

// RepresentationInfo is one Representation: a swarm.
type RepresentationInfo struct {
	// ID is Representation@id.
	ID string
	// Period is Period@id ("" when absent).
	Period string
	// ContentType is "video", "audio", "text" or "" (from contentType or
	// the mime type of the AdaptationSet or Representation).
	ContentType string
	// Bandwidth is Representation@bandwidth in bit/s.
	Bandwidth uint64
	// Init is the initialization segment ("" when none). InitRange is its
	// byte range within that file ("" for the whole file).
	Init, InitRange string
	// Segments lists the media segments in order; Segments[i] has the
	// segment number StartNumber+i. With SegmentBase the whole media file
	// is the one segment and IndexRange its index (sidx) range; players
	// then read it by byte ranges.
	Segments    []string
	StartNumber uint64
	IndexRange  string
	// Duration is the media time the listed segments cover (0 when not
	// known, as with SegmentBase).
	Duration time.Duration
	// SegmentDuration is the longest segment's duration (0 when unknown).
	SegmentDuration time.Duration
}

// maxMPDLiveWindow bounds how far back a live SegmentTemplate without
// timeline is listed when the MPD gives no timeShiftBufferDepth.
const maxMPDLiveWindow = 5 * time.Minute

// maxMPDElements bounds the elements of one MPD (Periods, AdaptationSets,
// Representations, S entries together): more is treated as malformed.
const maxMPDElements = 1 << 16

// ParseMPD parses a DASH manifest served under publicPath, listing the
// segments of a dynamic MPD as of now. Absolute URLs are mapped with mapURL
// (nil: skipped), as ParsePlaylistWith does. A malformed MPD is an error
// that says what is wrong.
func ParseMPD(publicPath string, body []byte, mapURL URLMapper, now time.Time) (*MPDInfo, error) {
	doc, err := decodeMPD(body)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(publicPath, "/") {
		publicPath = "/" + publicPath
	}
	info := &MPDInfo{}
	switch doc.Type {
	case "", "static":
	case "dynamic":
		info.Dynamic = true
	default:
		return nil, fmt.Errorf("mpd: MPD@type %q is neither static nor dynamic", doc.Type)
	}
	if doc.MinimumUpdatePeriod != "" {
		if info.MinimumUpdatePeriod, err = parseXSDuration(doc.MinimumUpdatePeriod); err != nil {
			return nil, fmt.Errorf("mpd: MPD@minimumUpdatePeriod: %w", err)
		}
		info.HasUpdatePeriod = true
	}
	if doc.AvailabilityStartTime != "" {
		if info.AvailabilityStartTime, err = parseXSDateTime(doc.AvailabilityStartTime); err != nil {
			return nil, fmt.Errorf("mpd: MPD@availabilityStartTime: %w", err)
		}
	}
	if doc.AvailabilityEndTime != "" {
		if info.AvailabilityEndTime, err = parseXSDateTime(doc.AvailabilityEndTime); err != nil {
			return nil, fmt.Errorf("mpd: MPD@availabilityEndTime: %w", err)
		}
	}
	if doc.TimeShiftBufferDepth != "" {
		if info.TimeShiftBufferDepth, err = parseXSDuration(doc.TimeShiftBufferDepth); err != nil {
			return nil, fmt.Errorf("mpd: MPD@timeShiftBufferDepth: %w", err)
		}
	}
	total := time.Duration(-1)
	if doc.MediaPresentationDuration != "" {
		if total, err = parseXSDuration(doc.MediaPresentationDuration); err != nil {
			return nil, fmt.Errorf("mpd: MPD@mediaPresentationDuration: %w", err)
		}
	}
	if info.Dynamic && info.AvailabilityStartTime.IsZero() {
		return nil, errors.New("mpd: a dynamic MPD needs MPD@availabilityStartTime")
	}
	if len(doc.Periods) == 0 {
		return nil, errors.New("mpd: no Period")
	}
	if n := countMPD(doc); n > maxMPDElements {
		return nil, fmt.Errorf("mpd: more than %d elements", maxMPDElements)
	}

	w := mpdWalker{info: info, mapURL: mapURL, now: now}
	base, ok := w.base(publicPath, doc.BaseURLs)
	if !ok {
		return info, nil // every segment is on a foreign host
	}
	// Period starts: @start, else the previous Period's end.
	var start time.Duration
	for i := range doc.Periods {
		p := &doc.Periods[i]
		if p.Start != "" {
			if start, err = parseXSDuration(p.Start); err != nil {
				return nil, fmt.Errorf("mpd: Period %d @start: %w", i+1, err)
			}
		}
		// The Period's length: @duration, else up to the next Period's
		// start, else up to the end of the presentation; -1 when open
		// (the live Period).
		length := time.Duration(-1)
		switch {
		case p.Duration != "":
			if length, err = parseXSDuration(p.Duration); err != nil {
				return nil, fmt.Errorf("mpd: Period %d @duration: %w", i+1, err)
			}
		case i+1 < len(doc.Periods) && doc.Periods[i+1].Start != "":
			next, err := parseXSDuration(doc.Periods[i+1].Start)
			if err != nil {
				return nil, fmt.Errorf("mpd: Period %d @start: %w", i+2, err)
			}
			length = max(next-start, 0)
		case total >= 0:
			length = max(total-start, 0)
		}
		if err := w.period(p, base, start, length); err != nil {
			return nil, fmt.Errorf("mpd: Period %d: %w", i+1, err)
		}
		if length >= 0 {
			start += length
		}
		if w.uris > maxPlaylistURIs {
			return nil, fmt.Errorf("mpd: more than %d URIs", maxPlaylistURIs)
		}
	}
	return info, nil
}

// decodeMPD decodes the document strictly enough to tell an MPD from
// anything else, with a bounded nesting depth.
func decodeMPD(body []byte) (*mpdXML, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if err := checkXMLDepth(body, 16); err != nil {
		return nil, err
	}
	var doc mpdXML
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "utf-8") || strings.EqualFold(label, "us-ascii") {
			return r, nil
		}
		return nil, fmt.Errorf("encoding %q is not UTF-8", label)
	}
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("mpd: %w", err)
	}
	return &doc, nil
}

// checkXMLDepth refuses documents nested deeper than limit (an MPD is five
// levels deep); encoding/xml itself would follow any depth.
func checkXMLDepth(body []byte, limit int) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	depth, elems := 0, 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			if elems == 0 {
				return errors.New("mpd: empty document")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("mpd: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && elems > 0 {
				return errors.New("mpd: more than one root element")
			}
			if depth == 0 && t.Name.Local != "MPD" {
				return fmt.Errorf("mpd: root element is <%s>, not <MPD>", t.Name.Local)
			}
			depth++
			elems++
			if depth > limit {
				return fmt.Errorf("mpd: elements nested deeper than %d", limit)
			}
			if elems > 4*maxMPDElements {
				return fmt.Errorf("mpd: more than %d elements", 4*maxMPDElements)
			}
		case xml.EndElement:
			depth--
		}
	}
}

func countMPD(doc *mpdXML) int {
	n := 0
	for _, p := range doc.Periods {
		n++
		n += timelineLen(p.SegmentTemplate)
		for _, a := range p.AdaptationSets {
			n++
			n += timelineLen(a.SegmentTemplate)
			for _, r := range a.Representations {
				n++
				n += timelineLen(r.SegmentTemplate)
			}
		}
	}
	return n
}

func timelineLen(t *mpdTemplate) int {
	if t == nil || t.Timeline == nil {
		return 0
	}
	return len(t.Timeline.S)
}

// mpdWalker lists the Representations of one MPD.
type mpdWalker struct {
	info   *MPDInfo
	mapURL URLMapper
	now    time.Time
	uris   int
}

// base resolves the first BaseURL against the parent's base; without one
// the parent's base stands. false: it points at a host that is not one of
// the node's origins.
func (w *mpdWalker) base(parent string, urls []string) (string, bool) {
	for _, u := range urls {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		p, ok := resolver{base: parent, mapURL: w.mapURL}.resolve(u)
		if !ok {
			return "", false
		}
		return p, true
	}
	return parent, true
}

func (w *mpdWalker) period(p *mpdPeriod, base string, start, length time.Duration) error {
	pbase, ok := w.base(base, p.BaseURLs)
	if !ok {
		return nil
	}
	for ai := range p.AdaptationSets {
		a := &p.AdaptationSets[ai]
		abase, ok := w.base(pbase, a.BaseURLs)
		if !ok {
			continue
		}
		for ri := range a.Representations {
			r := &a.Representations[ri]
			if r.ID == "" {
				return fmt.Errorf("AdaptationSet %d: a Representation without @id", ai+1)
			}
			rbase, ok := w.base(abase, r.BaseURLs)
			if !ok {
				continue
			}
			ri := RepresentationInfo{ID: r.ID, Period: p.ID, ContentType: contentType(a, r)}
			if r.Bandwidth != "" {
				bw, err := strconv.ParseUint(strings.TrimSpace(r.Bandwidth), 10, 64)
				if err != nil {
					return fmt.Errorf("representation %q: bad @bandwidth %q", r.ID, r.Bandwidth)
				}
				ri.Bandwidth = bw
			}
			var err error
			switch {
			case r.SegmentTemplate != nil || a.SegmentTemplate != nil || p.SegmentTemplate != nil:
				t := mergeTemplates(p.SegmentTemplate, a.SegmentTemplate, r.SegmentTemplate)
				err = w.template(&ri, t, rbase, r, start, length)
			case r.SegmentList != nil || a.SegmentList != nil || p.SegmentList != nil:
				l := firstNonNil(r.SegmentList, a.SegmentList, p.SegmentList)
				err = w.list(&ri, l, rbase)
			default:
				// SegmentBase (or nothing): the BaseURL is the media file.
				sb := firstNonNil(r.SegmentBase, a.SegmentBase, p.SegmentBase)
				err = w.segmentBase(&ri, sb, rbase)
			}
			if err != nil {
				return fmt.Errorf("representation %q: %w", r.ID, err)
			}
			w.uris += len(ri.Segments) + 1
			if w.uris > maxPlaylistURIs {
				return fmt.Errorf("more than %d URIs", maxPlaylistURIs)
			}
			w.info.Representations = append(w.info.Representations, ri)
		}
	}
	return nil
}

func firstNonNil[T any](xs ...*T) *T {
	for _, x := range xs {
		if x != nil {
			return x
		}
	}
	return nil
}

func contentType(a *mpdAdaptationSet, r *mpdRepresentation) string {
	for _, s := range []string{a.ContentType, r.MimeType, a.MimeType} {
		s = strings.ToLower(strings.TrimSpace(s))
		if t, _, _ := strings.Cut(s, "/"); t == "video" || t == "audio" || t == "text" {
			return t
		}
	}
	return ""
}

// mergeTemplates applies SegmentTemplate inheritance: each attribute comes
// from the innermost element that has it.
func mergeTemplates(ts ...*mpdTemplate) mpdTemplate {
	var m mpdTemplate
	for _, t := range ts {
		if t == nil {
			continue
		}
		if t.Media != "" {
			m.Media = t.Media
		}
		if t.Initialization != "" {
			m.Initialization = t.Initialization
		}
		if t.InitElement != nil {
			m.InitElement = t.InitElement
		}
		for _, f := range [...]struct {
			dst **uint64
			src *uint64
		}{
			{&m.Timescale, t.Timescale}, {&m.Duration, t.Duration}, {&m.StartNumber, t.StartNumber},
			{&m.EndNumber, t.EndNumber}, {&m.PresentationTimeOffset, t.PresentationTimeOffset},
		} {
			if f.src != nil {
				*f.dst = f.src
			}
		}
		if t.Timeline != nil {
			m.Timeline = t.Timeline
		}
	}
	return m
}

func orDefault(p *uint64, d uint64) uint64 {
	if p == nil {
		return d
	}
	return *p
}

// ticks converts a count of timescale units to a duration, saturating.
func ticks(n, timescale uint64) time.Duration {
	s := float64(n) / float64(timescale)
	if s > float64(maxFreshness/time.Second)*100 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(s * float64(time.Second))
}

func (w *mpdWalker) template(ri *RepresentationInfo, t mpdTemplate, base string, r *mpdRepresentation, start, length time.Duration) error {
	if t.Media == "" {
		return errors.New("SegmentTemplate without @media")
	}
	timescale := orDefault(t.Timescale, 1)
	if timescale == 0 {
		return errors.New("SegmentTemplate@timescale is 0")
	}
	number := orDefault(t.StartNumber, 1)
	ri.StartNumber = number
	vars := templateVars{id: r.ID, bandwidth: r.Bandwidth}
	init := t.Initialization
	if init == "" && t.InitElement != nil {
		init, ri.InitRange = t.InitElement.SourceURL, t.InitElement.Range
	}
	if init != "" {
		u, err := vars.expand(init, 0, 0)
		if err != nil {
			return fmt.Errorf("SegmentTemplate@initialization: %w", err)
		}
		if p, ok := (resolver{base: base, mapURL: w.mapURL}).resolve(u); ok {
			ri.Init = p
		}
	}
	add := func(num, time uint64) error {
		u, err := vars.expand(t.Media, num, time)
		if err != nil {
			return fmt.Errorf("SegmentTemplate@media: %w", err)
		}
		if p, ok := (resolver{base: base, mapURL: w.mapURL}).resolve(u); ok {
			ri.Segments = append(ri.Segments, p)
		}
		if w.uris+len(ri.Segments) > maxPlaylistURIs {
			return fmt.Errorf("more than %d URIs", maxPlaylistURIs)
		}
		return nil
	}
	pto := orDefault(t.PresentationTimeOffset, 0)
	if t.Timeline != nil {
		// The end of the Period in timescale units (open: as of now for a
		// live Period, else unbounded).
		var end uint64 = math.MaxUint64
		switch {
		case length >= 0:
			end = pto + uint64(length.Seconds()*float64(timescale))
		case w.info.Dynamic:
			if el := w.now.Sub(w.info.AvailabilityStartTime.Add(start)); el > 0 {
				end = pto + uint64(el.Seconds()*float64(timescale))
			} else {
				end = pto
			}
		}
		var cur uint64
		for i, s := range t.Timeline.S {
			if s.T != nil {
				cur = *s.T
			}
			if s.D == 0 {
				return fmt.Errorf("SegmentTimeline S %d: @d is 0 or missing", i+1)
			}
			repeat := s.R
			if repeat < 0 {
				// Up to the next S@t, else the Period's end.
				limit := end
				if i+1 < len(t.Timeline.S) && t.Timeline.S[i+1].T != nil {
					limit = *t.Timeline.S[i+1].T
				}
				if limit == math.MaxUint64 {
					return fmt.Errorf("SegmentTimeline S %d: @r=-1 with no end in sight", i+1)
				}
				repeat = 0
				if limit > cur {
					repeat = int64((limit-cur+s.D-1)/s.D) - 1
				}
			}
			if left := maxPlaylistURIs - w.uris - len(ri.Segments); repeat >= int64(left) {
				return fmt.Errorf("more than %d URIs", maxPlaylistURIs)
			}
			for k := int64(0); k <= repeat; k++ {
				if err := add(number, cur); err != nil {
					return err
				}
				ri.Duration += ticks(s.D, timescale)
				ri.SegmentDuration = max(ri.SegmentDuration, ticks(s.D, timescale))
				number++
				if cur > math.MaxUint64-s.D {
					return fmt.Errorf("SegmentTimeline S %d: time overflows", i+1)
				}
				cur += s.D
			}
		}
		return nil
	}
	if t.Duration == nil || *t.Duration == 0 {
		if strings.Contains(t.Media, "$Number") || strings.Contains(t.Media, "$Time") {
			return errors.New("SegmentTemplate with neither @duration nor SegmentTimeline")
		}
		return add(number, 0) // one segment for the whole Period
	}
	segDur := ticks(*t.Duration, timescale)
	if segDur <= 0 {
		return errors.New("SegmentTemplate@duration is too short")
	}
	ri.SegmentDuration = segDur
	var first, count uint64
	switch {
	case !w.info.Dynamic:
		if t.EndNumber != nil && *t.EndNumber < number {
			return fmt.Errorf("SegmentTemplate@endNumber %d is below @startNumber %d", *t.EndNumber, number)
		}
		if length < 0 {
			if t.EndNumber == nil {
				return errors.New("static MPD with neither Period length, mediaPresentationDuration nor @endNumber")
			}
			length = time.Duration(float64(segDur) * float64(*t.EndNumber-number+1))
		}
		count = uint64(math.Ceil(float64(length) / float64(segDur)))
	default:
		// Segment k (from 0) is available once it is complete:
		// availabilityStartTime + Period start + (k+1) segment durations.
		el := w.now.Sub(w.info.AvailabilityStartTime.Add(start))
		if length >= 0 && el > length {
			el = length
		}
		if el < segDur {
			break
		}
		done := uint64(el / segDur)
		window := w.info.TimeShiftBufferDepth
		if window <= 0 || window > maxMPDLiveWindow {
			window = maxMPDLiveWindow
		}
		keep := max(uint64(window/segDur), 1)
		if done > keep {
			first = done - keep
		}
		count = done - first
	}
	if t.EndNumber != nil && *t.EndNumber >= number {
		count = min(count, *t.EndNumber-number+1-min(first, *t.EndNumber-number+1))
	}
	if count > maxPlaylistURIs {
		return fmt.Errorf("more than %d segments", maxPlaylistURIs)
	}
	ri.StartNumber = number + first
	for k := first; k < first+count; k++ {
		if err := add(number+k, pto+k*(*t.Duration)); err != nil {
			return err
		}
	}
	ri.Duration = time.Duration(count) * segDur
	return nil
}

// ref resolves a URL attribute; an absent one (SegmentURL without @media,
// Initialization without @sourceURL) is the base itself.
func (w *mpdWalker) ref(base, u string) (string, bool) {
	if strings.TrimSpace(u) == "" {
		return base, base != "" && !strings.HasSuffix(base, "/")
	}
	return resolver{base: base, mapURL: w.mapURL}.resolve(u)
}

func (w *mpdWalker) list(ri *RepresentationInfo, l *mpdSegmentList, base string) error {
	ri.StartNumber = orDefault(l.StartNumber, 1)
	if l.Initialization != nil {
		if p, ok := w.ref(base, l.Initialization.SourceURL); ok {
			ri.Init, ri.InitRange = p, l.Initialization.Range
		}
	}
	for _, s := range l.SegmentURLs {
		if p, ok := w.ref(base, s.Media); ok {
			ri.Segments = append(ri.Segments, p)
		}
	}
	if l.Duration != nil {
		ts := orDefault(l.Timescale, 1)
		if ts == 0 {
			return errors.New("SegmentList@timescale is 0")
		}
		ri.SegmentDuration = ticks(*l.Duration, ts)
		ri.Duration = time.Duration(len(l.SegmentURLs)) * ri.SegmentDuration
	}
	return nil
}

func (w *mpdWalker) segmentBase(ri *RepresentationInfo, sb *mpdSegmentBase, base string) error {
	if strings.HasSuffix(base, "/") || base == "" {
		return errors.New("no SegmentTemplate, SegmentList or media file (BaseURL)")
	}
	ri.Segments = []string{base}
	if sb == nil {
		return nil
	}
	ri.IndexRange = sb.IndexRange
	if sb.Initialization != nil {
		ri.InitRange = sb.Initialization.Range
		if p, ok := w.ref(base, sb.Initialization.SourceURL); ok {
			ri.Init = p
		}
	}
	return nil
}

// templateVars are the values of a Representation's template identifiers.
type templateVars struct{ id, bandwidth string }

// expand substitutes $RepresentationID$, $Number$, $Bandwidth$, $Time$
// (each with an optional %0Nd format tag) and $$ in a SegmentTemplate
// string (ISO/IEC 23009-1 5.3.9.4.4).
func (v templateVars) expand(s string, number, t uint64) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		j := strings.IndexByte(s, '$')
		if j < 0 {
			return "", errors.New("unterminated $ identifier")
		}
		ident := s[:j]
		s = s[j+1:]
		if ident == "" {
			b.WriteByte('$')
			continue
		}
		name, format, hasFormat := strings.Cut(ident, "%")
		width := 1
		if hasFormat {
			f := strings.TrimPrefix(format, "0")
			if !strings.HasSuffix(f, "d") || len(f) < 2 {
				return "", fmt.Errorf("bad format tag in $%s$", ident)
			}
			n, err := strconv.Atoi(f[:len(f)-1])
			if err != nil || n < 1 || n > 32 {
				return "", fmt.Errorf("bad format tag in $%s$", ident)
			}
			width = n
		}
		var val string
		switch name {
		case "RepresentationID":
			if hasFormat {
				return "", errors.New("$RepresentationID$ takes no format tag")
			}
			val = v.id
		case "Number":
			val = strconv.FormatUint(number, 10)
		case "Time":
			val = strconv.FormatUint(t, 10)
		case "Bandwidth":
			val = strings.TrimSpace(v.bandwidth)
		default:
			return "", fmt.Errorf("unknown identifier $%s$", ident)
		}
		for k := len(val); k < width; k++ {
			b.WriteByte('0')
		}
		b.WriteString(val)
	}
}

// parseXSDuration parses an xs:duration (PnYnMnDTnHnMnS; a year counts 365
// days, a month 30). Negative durations are refused.
func parseXSDuration(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "P") {
		return 0, fmt.Errorf("%q is not a duration (PnDTnHnMnS)", orig)
	}
	s = s[1:]
	var total float64
	inTime, any := false, false
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return 0, fmt.Errorf("%q is not a duration", orig)
			}
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("%q is not a duration", orig)
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration", orig)
		}
		unit := s[i]
		s = s[i+1:]
		var mult float64
		switch {
		case !inTime && unit == 'Y':
			mult = 365 * 86400
		case !inTime && unit == 'M':
			mult = 30 * 86400
		case !inTime && unit == 'W':
			mult = 7 * 86400
		case !inTime && unit == 'D':
			mult = 86400
		case inTime && unit == 'H':
			mult = 3600
		case inTime && unit == 'M':
			mult = 60
		case inTime && unit == 'S':
			mult = 1
		default:
			return 0, fmt.Errorf("%q is not a duration", orig)
		}
		total += n * mult
		any = true
	}
	if !any {
		return 0, fmt.Errorf("%q is not a duration", orig)
	}
	if total > float64(maxFreshness/time.Second)*100 {
		return 0, fmt.Errorf("duration %q is too long", orig)
	}
	return time.Duration(total * float64(time.Second)), nil
}

// parseXSDateTime parses an xs:dateTime; one without a zone is UTC.
func parseXSDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time (2006-01-02T15:04:05Z)", s)
}

// isMPD reports whether an object is a DASH manifest, by its path or its
// content type.
func isMPD(path, contentType string) bool {
	if hasExt(path, ".mpd") {
		return true
	}
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/dash+xml")
}

// setMPD sets a parsed DASH manifest's kind, policy, live window and
// swarms: one per Representation (wire.RepresentationSwarm), listing its
// media segments by number and its init segment. A Representation id that
// appears in several Periods is one swarm.
func (c *Client) setMPD(obj *cache.Object, req *cache.Request, info *MPDInfo, rt *route, date string) {
	kind := cache.KindVODPlaylist
	if info.Dynamic {
		kind = cache.KindLivePlaylist
	}
	c.setPolicy(obj, req, media{kind: kind, mpd: info, override: rt.override}, date)
	obj.Kind = kind
	host := headerValue(req.Header, "Host")
	key := func(u string) string {
		p, q, _ := strings.Cut(u, "?")
		return c.keyer.Key(host, p, q)
	}
	manifest := req.ContentKey
	if manifest == "" {
		manifest = c.keyer.Key(host, req.Path, req.RawQuery)
	}
	byID := make(map[string]int, len(info.Representations))
	seen := make(map[string]struct{})
	for _, r := range info.Representations {
		i, ok := byID[r.ID]
		if !ok {
			i = len(obj.Swarms)
			byID[r.ID] = i
			obj.Swarms = append(obj.Swarms, cache.SwarmMedia{Swarm: wire.RepresentationSwarm(manifest, r.ID), MediaSequence: r.StartNumber})
		}
		sw := &obj.Swarms[i]
		if len(sw.Media) > 0 && sw.MediaSequence+uint64(len(sw.Media)) != r.StartNumber {
			// Numbers do not run on across Periods: keep the later Period's
			// segments, which are the ones viewers are fetching.
			sw.Media, sw.MediaSequence = nil, r.StartNumber
		}
		for _, u := range r.Segments {
			sw.Media = append(sw.Media, key(u))
		}
		if r.Init != "" && r.InitRange == "" {
			if k := key(r.Init); !slices.Contains(sw.Init, k) {
				sw.Init = append(sw.Init, k)
			}
		}
		if kind == cache.KindLivePlaylist {
			for _, list := range [][]string{{r.Init}, r.Segments} {
				for _, u := range list {
					if u == "" {
						continue
					}
					if k := key(u); !has(seen, k) {
						seen[k] = struct{}{}
						obj.Window = append(obj.Window, k)
					}
				}
			}
		}
	}
}

func has(m map[string]struct{}, k string) bool {
	_, ok := m[k]
	return ok
}

// mpdTTL is the media rule of a DASH manifest, an upper bound under the
// origin's freshness like the HLS ones:
//
//   - static: upstream.ttl.vod_playlist;
//   - dynamic: half of minimumUpdatePeriod (the manifest may change that
//     often), else half the longest segment (the manifest does not change,
//     but the segments it makes available move on with the clock), capped
//     by upstream.ttl.max_live_playlist;
//   - either way, no longer than until availabilityStartTime when that is
//     ahead (the manifest of a presentation that has not started is
//     replaced when it starts) or until availabilityEndTime.
func mpdTTL(cfg TTLConfig, info *MPDInfo, now time.Time) (time.Duration, uint8) {
	ttl, rule := cfg.VODPlaylist, ruleVOD
	if info.Dynamic {
		ttl, rule = info.MinimumUpdatePeriod/2, ruleMPDUpdate
		if !info.HasUpdatePeriod {
			var seg time.Duration
			for _, r := range info.Representations {
				seg = max(seg, r.SegmentDuration)
			}
			ttl, rule = seg/2, ruleLiveTarget
		}
		if cfg.MaxLivePlaylist > 0 && ttl > cfg.MaxLivePlaylist {
			ttl, rule = cfg.MaxLivePlaylist, ruleLiveCap
		}
	}
	for _, at := range []time.Time{info.AvailabilityStartTime, info.AvailabilityEndTime} {
		if at.IsZero() || (at == info.AvailabilityStartTime && !at.After(now)) {
			continue
		}
		if until := max(at.Sub(now), 0); until < ttl {
			ttl, rule = until, ruleMPDAvailability
		}
	}
	return ttl, rule
}
