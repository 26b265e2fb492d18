package wire

import (
	"crypto/hmac"
	sha1hash "crypto/sha1" // the TURN REST scheme is HMAC-SHA1 by definition
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TURN REST credentials: the time-limited TURN username and password a
// node mints for each viewer from a secret it shares with its TURN relays,
// the scheme coturn checks with use-auth-secret. The username is
// "EXPIRY:ID" (EXPIRY in Unix seconds, ID the viewer's peer id) and the
// password is base64(HMAC-SHA1(secret, username)). A relay that knows the
// secret checks both without asking the node, and refuses the username
// once EXPIRY has passed.

// TURNCredential returns the username and credential that admit id to a
// TURN relay sharing secret until expiry.
func TURNCredential(secret []byte, id string, expiry time.Time) (username, credential string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + id
	return username, TURNPassword(secret, username)
}

// TURNPassword returns the credential secret gives a TURN REST username.
func TURNPassword(secret []byte, username string) string {
	mac := hmac.New(sha1hash.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ErrTURNExpired is returned by CheckTURNUsername for a username whose
// expiry has passed.
var ErrTURNExpired = errors.New("turn credential expired")

// CheckTURNUsername parses a TURN REST username and reports the peer id it
// admits, or an error when it is malformed or expired at now.
func CheckTURNUsername(username string, now time.Time) (id string, err error) {
	exp, id, ok := strings.Cut(username, ":")
	if !ok || id == "" || len(username) > MaxICEFieldLen {
		return "", fmt.Errorf("turn username %q: not EXPIRY:ID", username)
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || sec <= 0 {
		return "", fmt.Errorf("turn username %q: expiry is not Unix seconds", username)
	}
	if now.Unix() >= sec {
		return "", ErrTURNExpired
	}
	return id, nil
}

// CheckTURNCredential reports whether credential is the one secret gives
// username, in constant time.
func CheckTURNCredential(secret []byte, username, credential string) bool {
	want := TURNPassword(secret, username)
	return subtle.ConstantTimeCompare([]byte(want), []byte(credential)) == 1
}

// IsTURNURL reports whether u is a turn: or turns: URL.
func IsTURNURL(u string) bool {
	return strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:")
}
