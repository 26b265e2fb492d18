package origin

import (
	"strings"

	"github.com/edgeswarm/edgeswarm/cache"
)

// Request headers the client never forwards: hop-by-hop headers (RFC 9110
// section 7.6.1), Host (the origin's own is sent), Accept-Encoding (identity
// is asked for: the cache stores one representation), and range and
// conditional headers (the node fetches and caches whole objects and answers
// those itself). Content-Length and Expect make no sense on a GET without a
// body.
func dropRequestHeader(name string) bool {
	if len(name) > 6 && strings.EqualFold(name[:6], "Proxy-") {
		return true
	}
	switch len(name) {
	case 2:
		return strings.EqualFold(name, "TE")
	case 4:
		return strings.EqualFold(name, "Host")
	case 5:
		return strings.EqualFold(name, "Range")
	case 6:
		return strings.EqualFold(name, "Expect")
	case 7:
		return strings.EqualFold(name, "Upgrade") || strings.EqualFold(name, "Trailer")
	case 8:
		return strings.EqualFold(name, "If-Match") || strings.EqualFold(name, "If-Range") || strings.EqualFold(name, "Trailers")
	case 10:
		return strings.EqualFold(name, "Connection") || strings.EqualFold(name, "Keep-Alive")
	case 13:
		return strings.EqualFold(name, "If-None-Match")
	case 14:
		return strings.EqualFold(name, "Content-Length")
	case 15:
		return strings.EqualFold(name, "Accept-Encoding")
	case 17:
		return strings.EqualFold(name, "Transfer-Encoding") || strings.EqualFold(name, "If-Modified-Since")
	case 19:
		return strings.EqualFold(name, "If-Unmodified-Since")
	}
	return false
}

// connectionTokens returns the header names listed in Connection headers:
// they are hop-by-hop too.
func connectionTokens(h []cache.Header) []string {
	var out []string
	for _, f := range h {
		if !strings.EqualFold(f.Name, "Connection") {
			continue
		}
		for tok := range strings.SplitSeq(f.Value, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				out = append(out, tok)
			}
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// validHeaderField reports whether a header can be written safely: a token
// name and a value without CR, LF or NUL.
func validHeaderField(name, value string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return !strings.ContainsAny(value, "\r\n\x00")
}

// headerValue returns the first value of name in h.
func headerValue(h []cache.Header, name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}
