package control

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync/atomic"
)

// Token is the admin bearer token, replaceable while requests are served
// (a reload changes it at once). The zero Token admits nobody.
type Token struct {
	sum atomic.Pointer[[sha256.Size]byte]
}

// NewToken returns a Token holding token ("" admits nobody).
func NewToken(token string) *Token {
	t := &Token{}
	t.Set(token)
	return t
}

// Set replaces the token; "" admits nobody.
func (t *Token) Set(token string) {
	if token == "" {
		t.sum.Store(nil)
		return
	}
	s := sha256.Sum256([]byte(token))
	t.sum.Store(&s)
}

// IsSet reports whether a token is configured.
func (t *Token) IsSet() bool { return t.sum.Load() != nil }

// allows compares in constant time (of the hashes: the token's length
// does not leak either).
func (t *Token) allows(r *http.Request) bool {
	want := t.sum.Load()
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if want == nil || !ok {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

// RequireToken serves h only to requests carrying "Authorization: Bearer
// <token>"; others get 401 with a JSON error. Without a token configured
// nobody is admitted: node refuses to start an admin port that others
// can reach without one, and a loopback one without a token serves its
// API to nobody (see node's admin.token).
func RequireToken(t *Token, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !t.allows(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="edgeswarm admin"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "admin token required: send Authorization: Bearer <admin.token>")
			return
		}
		h.ServeHTTP(w, r)
	})
}
