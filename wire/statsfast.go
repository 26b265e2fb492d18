package wire

// decodeStatsFast decodes the usual stats message (every viewer sends one
// per interval) without reflection: plain non-negative integers, booleans,
// strings without escapes, the errors object, unknown keys skipped. data
// passed scan. Anything else (an escape, a sign, a fraction, a value of the
// wrong type, a number too large) returns false, and encoding/json decodes
// the message and names the error. FuzzStatsFast holds the two to the
// same result.
func decodeStatsFast(data []byte, st *Stats) bool {
	p := fastParser{d: data}
	return p.object(func(key []byte) bool {
		switch string(key) {
		case "http_bytes":
			return p.uint(&st.HTTPBytes)
		case "p2p_bytes":
			return p.uint(&st.P2PBytes)
		case "seed_bytes":
			return p.uint(&st.SeedBytes)
		case "upload_bytes":
			return p.uint(&st.UploadBytes)
		case "digest_failures":
			return p.uint(&st.DigestFailures)
		case "aborts":
			return p.uint(&st.Aborts)
		case "peers":
			return p.uint(&st.Peers)
		case "relay_bytes":
			return p.uint(&st.RelayBytes)
		case "stalls":
			return p.uint(&st.Stalls)
		case "stall_ms":
			return p.uint(&st.StallMs)
		case "watch_ms":
			return p.uint(&st.WatchMs)
		case "startup_ms":
			return p.uint(&st.StartupMs)
		case "bitrate":
			return p.uint(&st.Bitrate)
		case "live_ms":
			return p.uint(&st.LiveMs)
		case "browser_major":
			return p.uint(&st.BrowserMajor)
		case "browser":
			return p.str(&st.Browser)
		case "group":
			return p.str(&st.Group)
		case "stream":
			return p.str(&st.Stream)
		case "swarm":
			return p.str(&st.Swarm)
		case "session":
			return p.str(&st.Session)
		case "mobile":
			return p.bool(&st.Mobile)
		case "webrtc":
			return p.bool(&st.WebRTC)
		case "upload":
			return p.bool(&st.Upload)
		case "errors":
			e := &st.Errors
			return p.object(func(k []byte) bool {
				switch string(k) {
				case "http":
					return p.uint(&e.HTTP)
				case "peer":
					return p.uint(&e.Peer)
				case "signal":
					return p.uint(&e.Signal)
				case "media":
					return p.uint(&e.Media)
				case "other":
					return p.uint(&e.Other)
				}
				return p.skip()
			})
		}
		return p.skip()
	})
}

type fastParser struct {
	d []byte
	i int
}

func (p *fastParser) ws() {
	for p.i < len(p.d) && (p.d[p.i] == ' ' || p.d[p.i] == '\t' || p.d[p.i] == '\n' || p.d[p.i] == '\r') {
		p.i++
	}
}

// object reads an object, calling field for each key with the value next.
func (p *fastParser) object(field func(key []byte) bool) bool {
	p.ws()
	if p.i >= len(p.d) || p.d[p.i] != '{' {
		return false
	}
	p.i++
	p.ws()
	if p.i < len(p.d) && p.d[p.i] == '}' {
		p.i++
		return true
	}
	for {
		p.ws()
		key, ok := p.raw()
		if !ok {
			return false
		}
		p.ws()
		if p.i >= len(p.d) || p.d[p.i] != ':' {
			return false
		}
		p.i++
		p.ws()
		if !field(key) {
			return false
		}
		p.ws()
		if p.i >= len(p.d) {
			return false
		}
		switch p.d[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// raw reads a string without escapes and returns its bytes.
func (p *fastParser) raw() ([]byte, bool) {
	if p.i >= len(p.d) || p.d[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	for j := start; j < len(p.d); j++ {
		switch p.d[j] {
		case '"':
			p.i = j + 1
			return p.d[start:j], true
		case '\\':
			return nil, false
		}
	}
	return nil, false
}

func (p *fastParser) str(dst *string) bool {
	b, ok := p.raw()
	if ok {
		*dst = string(b)
	}
	return ok
}

func (p *fastParser) uint(dst *uint64) bool {
	start := p.i
	var v uint64
	for p.i < len(p.d) && p.d[p.i] >= '0' && p.d[p.i] <= '9' {
		v = v*10 + uint64(p.d[p.i]-'0')
		p.i++
	}
	n := p.i - start
	// At most 15 digits cannot overflow; MaxCounter has 16, and validate
	// bounds every value anyway. A fraction or an exponent is not ours.
	if n == 0 || n > 15 || p.i < len(p.d) && (p.d[p.i] == '.' || p.d[p.i] == 'e' || p.d[p.i] == 'E') {
		return false
	}
	*dst = v
	return true
}

func (p *fastParser) bool(dst *bool) bool {
	switch {
	case len(p.d)-p.i >= 4 && string(p.d[p.i:p.i+4]) == "true":
		*dst, p.i = true, p.i+4
		return true
	case len(p.d)-p.i >= 5 && string(p.d[p.i:p.i+5]) == "false":
		*dst, p.i = false, p.i+5
		return true
	}
	return false
}

// skip passes over one value of a message scan accepted.
func (p *fastParser) skip() bool {
	depth := 0
	for p.i < len(p.d) {
		switch c := p.d[p.i]; c {
		case '"':
			p.i++
			for p.i < len(p.d) && p.d[p.i] != '"' {
				if p.d[p.i] == '\\' {
					p.i++
				}
				p.i++
			}
			p.i++
		case '{', '[':
			depth++
			p.i++
		case '}', ']':
			if depth == 0 {
				return true // the end of the enclosing object
			}
			depth--
			p.i++
		case ',':
			if depth == 0 {
				return true
			}
			p.i++
		default:
			p.i++
		}
		if depth == 0 && p.i <= len(p.d) {
			// A scalar or a closed container: stop at the delimiter that follows.
			p.ws()
			if p.i < len(p.d) && (p.d[p.i] == ',' || p.d[p.i] == '}' || p.d[p.i] == ']') {
				return true
			}
		}
	}
	return false
}
