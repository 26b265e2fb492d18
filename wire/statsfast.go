package wire

// decodeStatsFast decodes the usual stats message (every viewer sends one
// per interval) without reflection: plain non-negative integers, booleans,
// strings without escapes, the errors object, unknown keys skipped. data
// passed scan. Anything else (an escape, a sign, a fraction, a value of the
// wrong type, a number too large) returns false, and encoding/json decodes
// the message and names the error. FuzzStatsFast holds the two to the
// same result.
func decodeStatsFast(data []byte, st *Stats) bool { return decodeStats(data, st, false, nil) }

// decodeStatsStrict is decodeStatsFast for data that did not pass scan: it
// checks what scan would as it goes (one object and nothing after it,
// "v" the supported version, "type" stats, no key twice) and refuses what
// it does not know (an unknown key), so that one pass over the bytes
// decodes the messages viewers send. It returns true only for data that
// scan accepts as a stats message, with st then what decodeStatsFast
// gives; on false, the message takes the general path, which names the
// error if there is one. FuzzStatsStrict holds it to that.
func decodeStatsStrict(data []byte, st *Stats) bool { return decodeStats(data, st, true, nil) }

// decodeStats decodes data into st, which is zero. A string field equal to
// the same field of prev (nil: none) takes prev's string instead of a copy:
// a viewer repeats its browser, group, stream and swarm in every report.
func decodeStats(data []byte, st *Stats, strict bool, prev *Stats) bool {
	p := fastParser{d: data}
	str := func(dst *string, old string) bool {
		b, ok := p.raw()
		if ok {
			if string(b) == old {
				*dst = old
			} else {
				*dst = string(b)
			}
		}
		return ok
	}
	var none Stats
	if prev == nil {
		prev = &none
	}
	var seen, seenErr uint32
	var haveV, haveT bool
	// once reports whether the key of bit comes for the first time; a key
	// twice is scan's error. Only the strict pass checks.
	once := func(set *uint32, bit uint) bool {
		if !strict {
			return true
		}
		if *set&(1<<bit) != 0 {
			return false
		}
		*set |= 1 << bit
		return true
	}
	ok := p.object(func(key []byte) bool {
		switch string(key) {
		case "v":
			if !strict {
				return p.skip()
			}
			var v uint64
			haveV = once(&seen, 0) && p.uint(&v) && v == SignalVersion
			return haveV
		case "type":
			if !strict {
				return p.skip()
			}
			t, ok := p.raw()
			haveT = once(&seen, 1) && ok && string(t) == string(TypeStats)
			return haveT
		case "http_bytes":
			return once(&seen, 2) && p.uint(&st.HTTPBytes)
		case "p2p_bytes":
			return once(&seen, 3) && p.uint(&st.P2PBytes)
		case "seed_bytes":
			return once(&seen, 4) && p.uint(&st.SeedBytes)
		case "upload_bytes":
			return once(&seen, 5) && p.uint(&st.UploadBytes)
		case "digest_failures":
			return once(&seen, 6) && p.uint(&st.DigestFailures)
		case "aborts":
			return once(&seen, 7) && p.uint(&st.Aborts)
		case "peers":
			return once(&seen, 8) && p.uint(&st.Peers)
		case "relay_bytes":
			return once(&seen, 9) && p.uint(&st.RelayBytes)
		case "stalls":
			return once(&seen, 10) && p.uint(&st.Stalls)
		case "stall_ms":
			return once(&seen, 11) && p.uint(&st.StallMs)
		case "watch_ms":
			return once(&seen, 12) && p.uint(&st.WatchMs)
		case "startup_ms":
			return once(&seen, 13) && p.uint(&st.StartupMs)
		case "bitrate":
			return once(&seen, 14) && p.uint(&st.Bitrate)
		case "live_ms":
			return once(&seen, 15) && p.uint(&st.LiveMs)
		case "browser_major":
			return once(&seen, 16) && p.uint(&st.BrowserMajor)
		case "browser":
			return once(&seen, 17) && str(&st.Browser, prev.Browser)
		case "group":
			return once(&seen, 18) && str(&st.Group, prev.Group)
		case "stream":
			return once(&seen, 19) && str(&st.Stream, prev.Stream)
		case "swarm":
			return once(&seen, 20) && str(&st.Swarm, prev.Swarm)
		case "session":
			return once(&seen, 21) && str(&st.Session, prev.Session)
		case "mobile":
			return once(&seen, 22) && p.bool(&st.Mobile)
		case "webrtc":
			return once(&seen, 23) && p.bool(&st.WebRTC)
		case "upload":
			return once(&seen, 24) && p.bool(&st.Upload)
		case "errors":
			if !once(&seen, 25) {
				return false
			}
			e := &st.Errors
			return p.object(func(k []byte) bool {
				switch string(k) {
				case "http":
					return once(&seenErr, 0) && p.uint(&e.HTTP)
				case "peer":
					return once(&seenErr, 1) && p.uint(&e.Peer)
				case "signal":
					return once(&seenErr, 2) && p.uint(&e.Signal)
				case "media":
					return once(&seenErr, 3) && p.uint(&e.Media)
				case "other":
					return once(&seenErr, 4) && p.uint(&e.Other)
				}
				return !strict && p.skip()
			})
		}
		return !strict && p.skip()
	})
	if !strict || !ok {
		return ok
	}
	p.ws()
	return p.i == len(p.d) && haveV && haveT
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
		if p.d[j] < 0x20 { // not in a JSON string
			return nil, false
		}
	}
	return nil, false
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
	// bounds every value anyway. A fraction or an exponent is not ours,
	// nor a leading zero (not JSON).
	if n == 0 || n > 15 || n > 1 && p.d[start] == '0' || p.i < len(p.d) && (p.d[p.i] == '.' || p.d[p.i] == 'e' || p.d[p.i] == 'E') {
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
