package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// Encode returns the canonical JSON encoding of m:
// {"v":1,"type":"<type>",<fields in declaration order>}, optional fields
// omitted when zero, no insignificant white space, no HTML escaping.
// It validates m first and fails with a bad_request *Error if m breaks a
// rule of the protocol, or too_large if the result exceeds MaxMessageSize.
func Encode(m Message) ([]byte, error) {
	if m == nil {
		return nil, Errorf(CodeBadRequest, "nil message")
	}
	if err := m.validate(); err != nil {
		return nil, prefix(m.Type(), err)
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, Errorf(CodeInternal, "%s: %v", m.Type(), err)
	}
	b := bytes.TrimSuffix(body.Bytes(), []byte("\n")) // "{...}"
	out := make([]byte, 0, len(b)+32)
	out = append(out, `{"v":`...)
	out = strconv.AppendInt(out, SignalVersion, 10)
	out = append(out, `,"type":"`...)
	out = append(out, m.Type()...)
	out = append(out, '"')
	if len(b) > 2 {
		out = append(out, ',')
	}
	out = append(out, b[1:]...)
	if len(out) > MaxMessageSize {
		return nil, Errorf(CodeTooLarge, "%s: %d bytes, limit %d", m.Type(), len(out), MaxMessageSize)
	}
	return out, nil
}

// Decode parses one signaling message of either direction. It returns one
// of the message pointers of this package, or an *Error whose code is
// too_large, bad_request, unsupported_version or unknown_type.
//
// Decoding is strict where implementations could otherwise disagree: the
// input must be valid UTF-8 and one JSON object; keys must be lower-case
// ASCII ([a-z0-9_]) and unique in their object; null is not a value;
// nesting is at most MaxDepth. Unknown keys are ignored, so that later
// minor revisions may add optional fields.
func Decode(data []byte) (Message, error) {
	return decode(data, Client|Server, nil)
}

// DecodeFromClient is Decode for the server: it also rejects, with
// bad_request, messages a client may not send (such as welcome, or a
// relay carrying "from").
func DecodeFromClient(data []byte) (Message, error) {
	return decode(data, Client, nil)
}

// DecodeFromClientInto is DecodeFromClient for a server that reads one
// client's messages in turn: the stats message every viewer sends each
// interval is decoded into st (and returned as st) when the one-pass
// decoder takes it, without allocating: st's own strings, those of the
// previous report, are kept where the new one repeats them. Any other
// message, and every error, is exactly what DecodeFromClient returns. The
// caller owns st; the message returned as st is valid until st is used
// again.
func DecodeFromClientInto(data []byte, st *Stats) (Message, error) {
	return decode(data, Client, st)
}

// DecodeFromServer is Decode for a client: it also rejects, with
// bad_request, messages the server does not send (such as join, or a
// relay carrying "to").
func DecodeFromServer(data []byte) (Message, error) {
	return decode(data, Server, nil)
}

// decode decodes data sent by from; into, when not nil, receives a stats
// message the one-pass decoder takes (see DecodeFromClientInto).
func decode(data []byte, from Side, into *Stats) (Message, error) {
	if len(data) > MaxMessageSize {
		return nil, Errorf(CodeTooLarge, "%d bytes, limit %d", len(data), MaxMessageSize)
	}
	if !utf8.Valid(data) {
		return nil, Errorf(CodeBadRequest, "message is not valid UTF-8")
	}
	if from&Client != 0 {
		// Stats, the message a node gets most, in one pass.
		var st, prev Stats
		if into != nil {
			prev = *into
		}
		if decodeStats(data, &st, true, &prev) {
			if err := st.validate(); err != nil {
				return nil, prefix(TypeStats, err)
			}
			m := into
			if m == nil {
				m = new(Stats)
			}
			*m = st
			return m, nil
		}
	}
	env, err := scan(data)
	if err != nil {
		return nil, err
	}
	t := Type(env.typ)
	m := newMessage(t)
	if m == nil {
		return nil, Errorf(CodeUnknownType, "unknown message type %q", truncate(env.typ, 32))
	}
	if t.Sender()&from == 0 {
		return nil, Errorf(CodeBadRequest, "%s is not sent by the %s", t, sideName(from))
	}
	if st, ok := m.(*Stats); !ok || !decodeStatsFast(data, st) {
		if ok {
			*st = Stats{}
		}
		if err := json.Unmarshal(data, m); err != nil {
			return nil, prefix(t, describe(err))
		}
	}
	normalize(m)
	if err := m.validate(); err != nil {
		return nil, prefix(t, err)
	}
	if r, ok := m.(*Relay); ok {
		switch {
		case from == Client && r.To == "":
			return nil, Errorf(CodeBadRequest, "relay: from a client it needs to, not from")
		case from == Server && r.From == "":
			return nil, Errorf(CodeBadRequest, "relay: from the server it needs from, not to")
		}
	}
	return m, nil
}

// normalize makes an empty optional array decode like an absent one.
func normalize(m Message) {
	switch m := m.(type) {
	case *Have:
		if len(m.Ranges) == 0 {
			m.Ranges = nil
		}
	case *Welcome:
		if len(m.Config.ICEServers) == 0 {
			m.Config.ICEServers = nil
		}
		if len(m.Config.Keys.Rewrites) == 0 {
			m.Config.Keys.Rewrites = nil
		}
	}
}

func sideName(s Side) string {
	if s == Client {
		return "client"
	}
	return "server"
}

// prefix adds the message type to an error's human message.
func prefix(t Type, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Code: e.Code, Message: truncate(string(t)+": "+e.Message, MaxErrorMessageLen), RetryMs: e.RetryMs}
	}
	return Errorf(CodeBadRequest, "%s: %v", t, err)
}

// describe turns an encoding/json error into a bad_request naming the field.
func describe(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return badField(te.Field, "%s is not a valid %s", te.Value, jsonKind(te.Type.Kind().String()))
		}
		return Errorf(CodeBadRequest, "%s is not a valid %s", te.Value, jsonKind(te.Type.Kind().String()))
	}
	return Errorf(CodeBadRequest, "%v", err)
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "uint64", "uint8", "uint16", "uint32":
		return "non-negative integer"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return k
}

// envelope is what scan extracts from the top-level object.
type envelope struct {
	typ string
}

func checkJSONKey(k string) error {
	if k == "" || len(k) > 64 {
		return Errorf(CodeBadRequest, "key %q: empty or longer than 64 bytes", truncate(k, 64))
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return Errorf(CodeBadRequest, "key %q: keys are lower-case [a-z0-9_]", truncate(k, 64))
		}
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
