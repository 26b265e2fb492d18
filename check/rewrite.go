package check

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/edgeswarm/edgeswarm/origin"
)

// compareKeys pairs the segments of two fetches of a media playlist by
// media sequence number and, when their URLs differ, derives the content-key
// rewrite that makes each pair one key, then proves it with the node's
// Keyer: every pair must get one key, and distinct segments of one fetch
// must keep distinct keys.
func compareKeys(first *origin.PlaylistInfo, second []*url.URL, secondSeq uint64, firstURLs []*url.URL) KeyCheck {
	var kc KeyCheck
	var pairs [][2]*url.URL
	for i, a := range firstURLs {
		seq := first.MediaSequence + uint64(i)
		if seq < secondSeq || seq-secondSeq >= uint64(len(second)) {
			continue
		}
		b := second[seq-secondSeq]
		kc.Compared++
		if a.String() == b.String() {
			continue
		}
		kc.Differing++
		pairs = append(pairs, [2]*url.URL{a, b})
		if kc.Example == nil {
			kc.Example = []string{a.String(), b.String()}
		}
	}
	if kc.Differing == 0 {
		return kc
	}
	plain, err := origin.NewKeyer(origin.KeyConfig{})
	if err != nil {
		return kc
	}
	kc.QueryOnly = true
	for _, p := range pairs {
		kc.QueryOnly = kc.QueryOnly && key(plain, p[0]) == key(plain, p[1])
	}
	if kc.QueryOnly {
		return kc
	}
	rw, ok := deriveRewrite(plain, pairs)
	if !ok {
		return kc
	}
	kc.Rewrite = &rw
	kc.Verified = verifyRewrite(rw, pairs, firstURLs)
	return kc
}

func key(k *origin.Keyer, u *url.URL) string {
	return k.Key(u.Host, u.EscapedPath(), u.RawQuery)
}

// deriveRewrite finds the one path part in which the default keys of every
// pair differ, all else equal, and returns a rule for it: a whole part
// ("/live/3f9a/low/1.ts") is cut out ("^/live/[^/]+/" -> "/live/"); a run
// inside a part ("/live/seg-3f9a-1.ts") is cut out of the part, matched by
// the characters the runs are made of.
func deriveRewrite(k *origin.Keyer, pairs [][2]*url.URL) (origin.Rewrite, bool) {
	index, last := -1, false
	var dir string        // the key up to the differing part, with its '/'
	var parts [][2]string // the differing parts of each pair
	for _, p := range pairs {
		a := strings.Split(key(k, p[0]), "/")
		b := strings.Split(key(k, p[1]), "/")
		if len(a) != len(b) {
			return origin.Rewrite{}, false
		}
		diff := -1
		for i := range a {
			if a[i] != b[i] {
				if diff >= 0 {
					return origin.Rewrite{}, false // two parts differ
				}
				diff = i
			}
		}
		if diff < 0 {
			continue
		}
		d := strings.Join(a[:diff], "/") + "/"
		if index >= 0 && (diff != index || d != dir) {
			return origin.Rewrite{}, false
		}
		index, dir, last = diff, d, diff == len(a)-1
		parts = append(parts, [2]string{a[diff], b[diff]})
	}
	if index < 0 {
		return origin.Rewrite{}, false
	}
	// The literal all differing parts start with, and each pair's run after
	// it up to the pair's common suffix.
	prefix := parts[0][0]
	for _, pp := range parts {
		for _, s := range pp {
			n := 0
			for n < len(prefix) && n < len(s) && prefix[n] == s[n] {
				n++
			}
			prefix = prefix[:n]
		}
	}
	whole := !last && prefix == ""
	var runs []string
	for _, pp := range parts {
		ra, rb := splitRun(pp[0][len(prefix):], pp[1][len(prefix):])
		whole = whole && ra == pp[0] && rb == pp[1]
		runs = append(runs, ra, rb)
	}
	if whole {
		return origin.Rewrite{Match: "^" + regexp.QuoteMeta(dir) + "[^/]+/", Replace: escapeReplace(dir)}, true
	}
	class := runClass(runs)
	if class == "" {
		return origin.Rewrite{}, false
	}
	lit := dir + prefix
	return origin.Rewrite{Match: "^" + regexp.QuoteMeta(lit) + class + "+", Replace: escapeReplace(lit)}, true
}

// splitRun strips the common suffix of a and b and returns what is left of
// each.
func splitRun(a, b string) (ra, rb string) {
	j := 0
	for j < len(a) && j < len(b) && a[len(a)-1-j] == b[len(b)-1-j] {
		j++
	}
	return a[:len(a)-j], b[:len(b)-j]
}

// runClass is a bracket class for the characters of the runs: ranges for
// letters and digits, other bytes escaped. Empty when a run is empty or
// holds '/'.
func runClass(runs []string) string {
	var lower, upper, digit bool
	other := map[byte]bool{}
	for _, r := range runs {
		if r == "" || strings.Contains(r, "/") {
			return ""
		}
		for i := 0; i < len(r); i++ {
			switch c := r[i]; {
			case 'a' <= c && c <= 'z':
				lower = true
			case 'A' <= c && c <= 'Z':
				upper = true
			case '0' <= c && c <= '9':
				digit = true
			default:
				other[c] = true
			}
		}
	}
	// Hex tokens are common; a-z covers them all the same.
	var b strings.Builder
	b.WriteByte('[')
	if lower {
		b.WriteString("a-z")
	}
	if upper {
		b.WriteString("A-Z")
	}
	if digit {
		b.WriteString("0-9")
	}
	for c := byte(0x21); c < 0x7f; c++ {
		if other[c] {
			if strings.IndexByte(`\]^-[`, c) >= 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
	}
	b.WriteByte(']')
	return b.String()
}

// escapeReplace makes literal text a rewrite replacement ('$' doubled).
func escapeReplace(s string) string { return strings.ReplaceAll(s, "$", "$$") }

// verifyRewrite applies rw with the node's Keyer: both URLs of every pair
// must get one key, and the segments of one fetch must keep distinct keys.
func verifyRewrite(rw origin.Rewrite, pairs [][2]*url.URL, segs []*url.URL) bool {
	k, err := origin.NewKeyer(origin.KeyConfig{Rewrites: []origin.Rewrite{rw}})
	if err != nil {
		return false
	}
	for _, p := range pairs {
		if key(k, p[0]) != key(k, p[1]) {
			return false
		}
	}
	seen := map[string]string{}
	for _, u := range segs {
		kk := key(k, u)
		if prev, dup := seen[kk]; dup && prev != u.String() {
			return false
		}
		seen[kk] = u.String()
	}
	return true
}
