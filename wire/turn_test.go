package wire

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTURNCredential(t *testing.T) {
	// coturn's use-auth-secret scheme, against an independent computation:
	// printf '1800000000:abc' | openssl dgst -sha1 -hmac secret -binary | base64
	const want = "oQcsRKfx3841fH8mLrvaPDddA1w="
	exp := time.Unix(1_800_000_000, 0)
	u, p := TURNCredential([]byte("secret"), "abc", exp)
	if u != "1800000000:abc" || p != want {
		t.Fatalf("TURNCredential = %q, %q; want 1800000000:abc, %q", u, p, want)
	}
	if !CheckTURNCredential([]byte("secret"), u, p) {
		t.Error("own credential refused")
	}
	if CheckTURNCredential([]byte("other"), u, p) || CheckTURNCredential([]byte("secret"), "1800000001:abc", p) {
		t.Error("credential accepted under another secret or username")
	}
	if id, err := CheckTURNUsername(u, exp.Add(-time.Second)); err != nil || id != "abc" {
		t.Errorf("CheckTURNUsername before expiry = %q, %v", id, err)
	}
	if _, err := CheckTURNUsername(u, exp); !errors.Is(err, ErrTURNExpired) {
		t.Errorf("CheckTURNUsername at expiry: %v", err)
	}
	for _, bad := range []string{"", "abc", ":abc", "x:abc", "-5:abc", "1800000000:"} {
		if _, err := CheckTURNUsername(bad, exp.Add(-time.Hour)); err == nil || errors.Is(err, ErrTURNExpired) {
			t.Errorf("CheckTURNUsername(%q) = %v, want a format error", bad, err)
		}
	}
}

// FuzzTURNUsername: whatever username a TURN client sends, the check
// never panics, and accepts only EXPIRY:ID with EXPIRY in the future and
// a non-empty ID, which it returns.
func FuzzTURNUsername(f *testing.F) {
	for _, s := range []string{"1800000000:abc", "", ":", "1:", "-1:a", "99999999999999999999:a", "1800000000:a:b", "1800000000:\x00"} {
		f.Add(s)
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, u string) {
		id, err := CheckTURNUsername(u, now)
		if err != nil {
			if id != "" {
				t.Fatalf("error %v with id %q", err, id)
			}
			return
		}
		exp, rest, ok := strings.Cut(u, ":")
		sec, perr := strconv.ParseInt(exp, 10, 64)
		if !ok || rest != id || id == "" || perr != nil || sec <= now.Unix() {
			t.Fatalf("accepted %q as id %q", u, id)
		}
	})
}
