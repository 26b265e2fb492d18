package signal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/fasthttp/websocket"

	"github.com/edgeswarm/edgeswarm/wire"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0
	opText         = 1
	opBinary       = 2
	opClose        = 8
	opPing         = 9
	opPong         = 10
	// opTooLarge is no opcode: frameReader hands it for a message of
	// more than wire.MaxMessageSize bytes, whose payload it discards.
	opTooLarge = 0x100
)

// maxFrameHeader is the longest frame header a client sends: 2 bytes,
// an 8-byte length and the 4-byte mask key.
const maxFrameHeader = 14

// errProtocol is the cause of every protocolError.
var errProtocol = errors.New("websocket protocol violation")

// protocolError is a client's violation of RFC 6455; the connection is
// closed with status 1002.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "websocket: " + e.msg }
func (e *protocolError) Unwrap() error { return errProtocol }

func protocolErrorf(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

// frameReader parses the frames a client sends to the server, from bytes
// as they come off the socket, for the connections the pollers read (see
// poller): no extensions, every frame masked, control frames of at most
// 125 bytes and unfragmented, messages fragmented or not, and at most
// wire.MaxMessageSize bytes to a message (a longer one is reported as
// opTooLarge and its payload skipped without being buffered). It keeps
// between calls only what an incomplete frame or message needs: an idle
// connection holds no buffer.
type frameReader struct {
	carry []byte // the start of an incomplete frame; nil when none
	msg   []byte // the fragments so far of an incomplete message
	op    int    // opcode of the incomplete message; 0 when none
	skip  int    // payload bytes still to discard
	// drop discards the continuation frames of a message too large,
	// until its final frame.
	drop bool
}

// feed parses data, after what an earlier call left, and calls on for
// each whole message (opText, opBinary, opTooLarge) and control frame, in
// order; payload is unmasked and valid only during the call. When on
// returns false, feed returns at once, keeping the bytes after that frame
// for the next call. data may be modified (unmasked in place) and is not
// kept. An error is a protocol violation: the connection must be closed.
func (r *frameReader) feed(data []byte, on func(op int, payload []byte) bool) error {
	b := data
	if len(r.carry) > 0 {
		r.carry = append(r.carry, data...)
		b = r.carry
	}
	for {
		if r.skip > 0 {
			n := min(r.skip, len(b))
			b, r.skip = b[n:], r.skip-n
			if r.skip > 0 {
				break
			}
		}
		if len(b) < 2 {
			break
		}
		fin, rsv, op := b[0]&0x80 != 0, b[0]&0x70, int(b[0]&0x0f)
		masked, n7 := b[1]&0x80 != 0, int(b[1]&0x7f)
		switch {
		case rsv != 0:
			return protocolErrorf("reserved bits set (no extension was negotiated)")
		case !masked:
			return protocolErrorf("client frame not masked")
		case op >= 3 && op <= 7 || op > opPong:
			return protocolErrorf("unknown opcode %d", op)
		case op >= opClose && (!fin || n7 > 125):
			return protocolErrorf("control frame fragmented or longer than 125 bytes")
		case op == opContinuation && r.op == 0 && !r.drop:
			return protocolErrorf("continuation frame without a message to continue")
		case (op == opText || op == opBinary) && (r.op != 0 || r.drop):
			return protocolErrorf("new message before the fragmented one ended")
		}
		hdr, length := 2, uint64(n7)
		switch n7 {
		case 126:
			if len(b) < 4 {
				return r.keep(b)
			}
			hdr, length = 4, uint64(binary.BigEndian.Uint16(b[2:]))
		case 127:
			if len(b) < 10 {
				return r.keep(b)
			}
			hdr, length = 10, binary.BigEndian.Uint64(b[2:])
			if length>>63 != 0 {
				return protocolErrorf("frame length has its high bit set")
			}
		}
		hdr += 4
		if len(b) < hdr {
			break
		}
		if op < opClose {
			total := length
			if op == opContinuation {
				total += uint64(len(r.msg))
			}
			if r.drop || total > wire.MaxMessageSize {
				// Too large, or the rest of a message that was: skip the
				// payload, whether here yet or not.
				now := int(min(length, uint64(len(b)-hdr)))
				b, r.skip = b[hdr+now:], int(min(length-uint64(now), math.MaxInt))
				tooLarge := !r.drop
				r.drop, r.op, r.msg = !fin, 0, nil
				if tooLarge && !on(opTooLarge, nil) {
					return r.keep(b)
				}
				continue
			}
		}
		if uint64(len(b)-hdr) < length {
			break
		}
		n := int(length)
		payload := b[hdr : hdr+n]
		unmask(b[hdr-4:hdr], payload)
		b = b[hdr+n:]
		deliver, mop := true, op
		switch {
		case op >= opClose:
		case op != opContinuation && fin:
		case op != opContinuation:
			r.op, r.msg, deliver = op, append([]byte(nil), payload...), false
		default:
			r.msg = append(r.msg, payload...)
			if deliver = fin; fin {
				payload, mop = r.msg, r.op
				r.op, r.msg = 0, nil
			}
		}
		if deliver && !on(mop, payload) {
			return r.keep(b)
		}
	}
	return r.keep(b)
}

// keep saves b, the bytes not parsed yet, for the next call.
func (r *frameReader) keep(b []byte) error {
	switch {
	case len(b) == 0:
		r.carry = nil
	case len(r.carry) > 0 && &b[0] == &r.carry[0]:
	case len(r.carry) > 0:
		r.carry = append(r.carry[:0], b...) // b is inside carry: copy moves it to the front
	default:
		r.carry = append(make([]byte, 0, max(len(b), 2*maxFrameHeader)), b...)
	}
	return nil
}

// unmask applies the mask key to payload.
func unmask(key, payload []byte) {
	k := [4]byte(key)
	i := 0
	if len(payload) >= 8 {
		k8 := uint64(binary.LittleEndian.Uint32(k[:]))
		k8 |= k8 << 32
		for ; i+8 <= len(payload); i += 8 {
			binary.LittleEndian.PutUint64(payload[i:], binary.LittleEndian.Uint64(payload[i:])^k8)
		}
	}
	for ; i < len(payload); i++ {
		payload[i] ^= k[i&3]
	}
}

// closeStatus checks a close frame's payload and returns its status code
// (websocket.CloseNoStatusReceived when it has none).
func closeStatus(payload []byte) (int, error) {
	switch {
	case len(payload) == 0:
		return websocket.CloseNoStatusReceived, nil
	case len(payload) == 1:
		return 0, protocolErrorf("close frame of one byte")
	}
	code := int(binary.BigEndian.Uint16(payload))
	if !validCloseCode(code) {
		return 0, protocolErrorf("invalid close code %d", code)
	}
	if !utf8.Valid(payload[2:]) {
		return 0, protocolErrorf("close reason is not UTF-8")
	}
	return code, nil
}

// validCloseCode reports whether a peer may send code (RFC 6455 section
// 7.4).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
