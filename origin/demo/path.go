package demo

import (
	"strconv"
	"strings"
)

// Stream kinds: the same renditions served as a live window or as VOD.
const (
	streamLive = "live"
	streamVOD  = "vod"
)

// Resource kinds a path can name.
type resource int

const (
	resMaster   resource = iota + 1 // /<stream>/master.m3u8
	resPlaylist                     // /<stream>/<rendition>/index.m3u8
	resSegment                      // /<stream>/<rendition>/<seq>.ts
)

// route is a parsed request path.
type route struct {
	stream    string // streamLive or streamVOD
	res       resource
	rendition string // empty for resMaster
	seq       int64  // only for resSegment
}

// maxSeqDigits bounds segment numbers well below overflow.
const maxSeqDigits = 15

// parsePath parses a request path. It accepts only the canonical spelling of
// each resource (no leading zeros, no empty or dot elements), so that every
// resource has exactly one path and caches never hold two copies of it.
func parsePath(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return route{}, false
	}
	stream, rest, ok := strings.Cut(rest, "/")
	if !ok || (stream != streamLive && stream != streamVOD) {
		return route{}, false
	}
	if rest == "master.m3u8" {
		return route{stream: stream, res: resMaster}, true
	}
	rendition, file, ok := strings.Cut(rest, "/")
	if !ok || !validRenditionName(rendition) {
		return route{}, false
	}
	if file == "index.m3u8" {
		return route{stream: stream, res: resPlaylist, rendition: rendition}, true
	}
	digits, ok := strings.CutSuffix(file, ".ts")
	if !ok || len(digits) == 0 || len(digits) > maxSeqDigits || (digits[0] == '0' && len(digits) > 1) {
		return route{}, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return route{}, false
		}
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return route{}, false
	}
	return route{stream: stream, res: resSegment, rendition: rendition, seq: seq}, true
}

// validRenditionName reports whether s can name a rendition: lower-case
// letters and digits only.
func validRenditionName(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// String formats the route back into its path.
func (r route) String() string {
	switch r.res {
	case resMaster:
		return "/" + r.stream + "/master.m3u8"
	case resPlaylist:
		return "/" + r.stream + "/" + r.rendition + "/index.m3u8"
	case resSegment:
		return "/" + r.stream + "/" + r.rendition + "/" + strconv.FormatInt(r.seq, 10) + ".ts"
	}
	return ""
}
