package wire

import (
	"fmt"
	"unicode/utf8"
)

// Code is the machine-readable code of a signaling error. Codes are
// lower-case snake_case; a receiver must accept codes it does not know.
type Code string

// Error codes. Decoding failures produce the first four; the others are
// sent by the signaling server. "Fatal" codes are followed by the server
// closing the WebSocket; see docs/protocol.md.
const (
	// CodeBadRequest: malformed JSON, a missing, malformed or over-long
	// field, a message the sender may not send. Fatal.
	CodeBadRequest Code = "bad_request"
	// CodeUnsupportedVersion: "v" is not SignalVersion. Fatal.
	CodeUnsupportedVersion Code = "unsupported_version"
	// CodeTooLarge: the message exceeds MaxMessageSize. Fatal.
	CodeTooLarge Code = "too_large"
	// CodeUnknownType: "type" names no message of this version. Not fatal.
	CodeUnknownType Code = "unknown_type"
	// CodeNotJoined: a joined-only message arrived before join. Not fatal.
	CodeNotJoined Code = "not_joined"
	// CodeAlreadyJoined: join arrived while joined (leave first). Not fatal.
	CodeAlreadyJoined Code = "already_joined"
	// CodeTicketInvalid: the ticket is missing, forged, expired or for
	// another swarm. Fatal.
	CodeTicketInvalid Code = "ticket_invalid"
	// CodeRateLimited: the client sends too fast; the message was dropped.
	// Not fatal unless repeated.
	CodeRateLimited Code = "rate_limited"
	// CodeSwarmFull: the swarm (or the node) has no room. Fatal.
	CodeSwarmFull Code = "swarm_full"
	// CodeUnknownPeer: a relay or report names no peer of the swarm. Not fatal.
	CodeUnknownPeer Code = "unknown_peer"
	// CodeGoingAway: the node is shutting down. Fatal.
	CodeGoingAway Code = "going_away"
	// CodeInternal: the server failed; the client may retry. Fatal.
	CodeInternal Code = "internal"
)

// Error is both the "error" signaling message (server to client) and the
// error every decoder and encoder of this package returns. Use errors.As
// to get the code of a failure.
type Error struct {
	// Code is the machine-readable code. Required.
	Code Code `json:"code"`
	// Message is a human-readable explanation for logs and developers,
	// at most MaxErrorMessageLen bytes. Required.
	Message string `json:"message"`
	// RetryMs, optional, tells the client how long to wait before trying
	// again (rate_limited, swarm_full, going_away, internal).
	RetryMs int64 `json:"retry_ms,omitempty"`
}

// Errorf returns an *Error with the code and a formatted message,
// truncated to MaxErrorMessageLen bytes on a rune boundary.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: truncate(fmt.Sprintf(format, args...), MaxErrorMessageLen)}
}

// Error implements the error interface.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Type implements Message.
func (*Error) Type() Type { return TypeError }

func (e *Error) validate() error {
	if err := checkToken("code", string(e.Code)); err != nil {
		return err
	}
	if err := checkText("message", e.Message, MaxErrorMessageLen, true); err != nil {
		return err
	}
	return checkRange("retry_ms", e.RetryMs, 0, 24*3600*1000)
}

// truncate cuts s to at most n bytes without splitting a rune.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
