package wire

import (
	"errors"
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
