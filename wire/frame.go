package wire

import (
	"encoding/binary"
	"fmt"
)

// FrameType is the first byte of every peer frame.
type FrameType uint8

// Peer frame types of version 1 (0x01..0x09) and version 2 (0x0a). 0x00 is
// never a frame type.
const (
	FrameHello   FrameType = 0x01 // versions and flags; the first frame each way
	FrameHave    FrameType = 0x02 // the sender's have-map, replacing the previous one
	FrameRequest FrameType = 0x03 // ask for a segment from an offset
	FrameData    FrameType = 0x04 // header of a response: total size, first offset
	FrameChunk   FrameType = 0x05 // the next bytes of a response
	FrameDone    FrameType = 0x06 // the response is complete
	FrameCancel  FrameType = 0x07 // the requester gives the request up
	FrameAbsent  FrameType = 0x08 // the responder lacks the segment
	FrameBusy    FrameType = 0x09 // the responder will not serve now
	FramePush    FrameType = 0x0a // v2: an unrequested response follows
)

var frameNames = [...]string{
	FrameHello: "hello", FrameHave: "have", FrameRequest: "request", FrameData: "data",
	FrameChunk: "chunk", FrameDone: "done", FrameCancel: "cancel", FrameAbsent: "absent", FrameBusy: "busy",
	FramePush: "push",
}

// String returns the frame type's name as used in docs and golden files.
func (t FrameType) String() string {
	if t >= FrameHello && t <= FramePush {
		return frameNames[t]
	}
	return fmt.Sprintf("frame(0x%02x)", uint8(t))
}

// Hello flags.
const (
	// FlagServes: the sender answers requests. A peer does not send
	// requests to a peer whose hello lacks it.
	FlagServes uint8 = 1 << 0
	// FlagAcceptsPush (version 2): the sender accepts push frames. A peer
	// pushes only to a peer whose hello has it, on a connection that
	// negotiated version 2 or later.
	FlagAcceptsPush uint8 = 1 << 1
)

// MinPushReq is the lowest response id of a push. In version 2 a
// requester's own request ids are below it, so pushed responses never
// collide with requested ones.
const MinPushReq uint32 = 1 << 31

// Segment reference kinds in a request.
const (
	refSeq = 0 // 8-byte media sequence number follows
	refKey = 1 // 2-byte length and a content key follow
)

// Frame is one peer frame. It is a flat struct rather than one type per
// frame so that decoding a chunk, the hot path, allocates nothing. Type
// selects the frame; each field says which frames use it, and AppendFrame
// ignores the fields the type does not use. DecodeFrame sets only the
// fields the type uses; Payload and Have.Bits alias the decoded buffer.
type Frame struct {
	Type FrameType

	// MinVersion and MaxVersion (hello) are the peer protocol versions
	// the sender speaks, 1 <= MinVersion <= MaxVersion.
	MinVersion, MaxVersion uint8
	// Flags (hello) is a set of Flag* bits. Unknown bits are sent as zero
	// and ignored on receipt.
	Flags uint8

	// Have (have) is the sender's have-map.
	Have HaveMap

	// Req (request, data, chunk, done, cancel, absent, busy) is the
	// request id the requester chose; every response echoes it. In a
	// push, it is the id of the response that follows, chosen by the
	// pusher, at least MinPushReq.
	Req uint32

	// Seq (request) identifies the segment by media sequence number,
	// 0..MaxSequence, when Key is empty; (push) the pushed segment.
	Seq uint64
	// Key (request), when not empty, identifies the segment by content
	// key instead (1..MaxKeyLen bytes of UTF-8, no control characters).
	Key string

	// Offset (request) is the first byte wanted; (data) the offset of the
	// first byte that follows, equal to the request's.
	Offset uint32
	// Size (data) is the segment's total size, 1..MaxSegmentSize, and at
	// least Offset.
	Size uint32

	// Payload (chunk) is 1..MaxChunkPayload bytes of the segment.
	Payload []byte

	// RetryAfterMs (busy), when not zero, hints how long to wait before
	// asking this peer again.
	RetryAfterMs uint32
}

// FrameErrorCode classifies a malformed frame.
type FrameErrorCode string

// Frame error codes, as used in testdata/peer/rejected.json.
const (
	FrameErrEmpty     FrameErrorCode = "empty"          // zero-length message
	FrameErrTooLarge  FrameErrorCode = "too_large"      // longer than MaxFrameSize
	FrameErrUnknown   FrameErrorCode = "unknown_frame"  // unknown type byte
	FrameErrTruncated FrameErrorCode = "truncated"      // shorter than its layout
	FrameErrTrailing  FrameErrorCode = "trailing_bytes" // longer than its layout
	FrameErrBadValue  FrameErrorCode = "bad_value"      // a field out of range
)

// FrameError is the error of DecodeFrame and AppendFrame. A peer that
// receives a malformed frame closes the connection: no frame is skipped.
type FrameError struct {
	Code   FrameErrorCode
	Type   FrameType // 0 when the type byte is missing
	Detail string
}

func (e *FrameError) Error() string {
	if e.Type == 0 {
		return "peer frame: " + string(e.Code) + ": " + e.Detail
	}
	return "peer frame " + e.Type.String() + ": " + string(e.Code) + ": " + e.Detail
}

func frameErr(code FrameErrorCode, t FrameType, format string, args ...any) *FrameError {
	return &FrameError{Code: code, Type: t, Detail: fmt.Sprintf(format, args...)}
}

// fixedLen is the exact length of frames with a fixed layout, 0 otherwise.
var fixedLen = [...]int{
	FrameHello: 4, FrameData: 13, FrameDone: 5, FrameCancel: 5, FrameAbsent: 5, FrameBusy: 9, FramePush: 13,
}

// minLen is the shortest valid frame of each type.
var minLen = [...]int{
	FrameHello: 4, FrameHave: 11, FrameRequest: 10, FrameData: 13, FrameChunk: 6,
	FrameDone: 5, FrameCancel: 5, FrameAbsent: 5, FrameBusy: 9, FramePush: 13,
}

// AppendChunkHeader appends the ChunkHeaderSize-byte header of a chunk
// frame; the caller appends 1..MaxChunkPayload payload bytes after it
// (for instance by reading straight into the buffer).
func AppendChunkHeader(dst []byte, req uint32) []byte {
	dst = append(dst, byte(FrameChunk))
	return binary.BigEndian.AppendUint32(dst, req)
}

// AppendFrame appends the encoding of f to dst and returns the extended
// buffer. It allocates only when dst lacks capacity. It fails with a
// *FrameError, leaving dst unchanged, if f breaks a rule of the protocol
// (the same rules DecodeFrame enforces).
func AppendFrame(dst []byte, f Frame) ([]byte, error) {
	if err := f.validate(); err != nil {
		return dst, err
	}
	dst = append(dst, byte(f.Type))
	be := binary.BigEndian
	switch f.Type {
	case FrameHello:
		dst = append(dst, f.MinVersion, f.MaxVersion, f.Flags)
	case FrameHave:
		dst = be.AppendUint64(dst, f.Have.Base)
		dst = be.AppendUint16(dst, uint16(f.Have.Count))
		dst = append(dst, f.Have.Bits...)
	case FrameRequest:
		dst = be.AppendUint32(dst, f.Req)
		dst = be.AppendUint32(dst, f.Offset)
		if f.Key != "" {
			dst = append(dst, refKey)
			dst = be.AppendUint16(dst, uint16(len(f.Key)))
			dst = append(dst, f.Key...)
		} else {
			dst = append(dst, refSeq)
			dst = be.AppendUint64(dst, f.Seq)
		}
	case FrameData:
		dst = be.AppendUint32(dst, f.Req)
		dst = be.AppendUint32(dst, f.Size)
		dst = be.AppendUint32(dst, f.Offset)
	case FrameChunk:
		dst = be.AppendUint32(dst, f.Req)
		dst = append(dst, f.Payload...)
	case FrameDone, FrameCancel, FrameAbsent:
		dst = be.AppendUint32(dst, f.Req)
	case FrameBusy:
		dst = be.AppendUint32(dst, f.Req)
		dst = be.AppendUint32(dst, f.RetryAfterMs)
	case FramePush:
		dst = be.AppendUint32(dst, f.Req)
		dst = be.AppendUint64(dst, f.Seq)
	}
	return dst, nil
}

// DecodeFrame parses one peer frame. It never panics, and for chunk
// frames it does not allocate: Payload aliases b, as does Have.Bits for
// have frames, so copy them to keep them past b's reuse. Errors are
// *FrameError.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) == 0 {
		return Frame{}, frameErr(FrameErrEmpty, 0, "zero-length message")
	}
	t := FrameType(b[0])
	if len(b) > MaxFrameSize {
		return Frame{}, frameErr(FrameErrTooLarge, t, "%d bytes, limit %d", len(b), MaxFrameSize)
	}
	if t < FrameHello || t > FramePush {
		return Frame{}, frameErr(FrameErrUnknown, 0, "type byte 0x%02x", b[0])
	}
	if len(b) < minLen[t] {
		return Frame{}, frameErr(FrameErrTruncated, t, "%d bytes, need %d", len(b), minLen[t])
	}
	if n := fixedLen[t]; n != 0 && len(b) != n {
		return Frame{}, frameErr(FrameErrTrailing, t, "%d bytes, want %d", len(b), n)
	}
	be := binary.BigEndian
	f := Frame{Type: t}
	switch t {
	case FrameHello:
		f.MinVersion, f.MaxVersion, f.Flags = b[1], b[2], b[3]
	case FrameHave:
		f.Have.Base = be.Uint64(b[1:])
		f.Have.Count = int(be.Uint16(b[9:]))
		n := bitmapLen(f.Have.Count)
		if f.Have.Count <= MaxHaveBits { // else validate reports it
			switch {
			case len(b) < 11+n:
				return Frame{}, frameErr(FrameErrTruncated, t, "bitmap of %d bits needs %d bytes, have %d", f.Have.Count, n, len(b)-11)
			case len(b) > 11+n:
				return Frame{}, frameErr(FrameErrTrailing, t, "%d bytes after a %d-byte bitmap", len(b)-11-n, n)
			}
			if n > 0 {
				f.Have.Bits = b[11:len(b):len(b)]
			}
		}
	case FrameRequest:
		f.Req = be.Uint32(b[1:])
		f.Offset = be.Uint32(b[5:])
		switch b[9] {
		case refSeq:
			switch {
			case len(b) < 18:
				return Frame{}, frameErr(FrameErrTruncated, t, "%d bytes, need 18", len(b))
			case len(b) > 18:
				return Frame{}, frameErr(FrameErrTrailing, t, "%d bytes, want 18", len(b))
			}
			f.Seq = be.Uint64(b[10:])
		case refKey:
			if len(b) < 12 {
				return Frame{}, frameErr(FrameErrTruncated, t, "%d bytes, need 12", len(b))
			}
			n := int(be.Uint16(b[10:]))
			switch {
			case len(b) < 12+n:
				return Frame{}, frameErr(FrameErrTruncated, t, "key of %d bytes, have %d", n, len(b)-12)
			case len(b) > 12+n:
				return Frame{}, frameErr(FrameErrTrailing, t, "%d bytes after the key", len(b)-12-n)
			case n == 0:
				return Frame{}, frameErr(FrameErrBadValue, t, "empty key")
			}
			f.Key = string(b[12:])
		default:
			return Frame{}, frameErr(FrameErrBadValue, t, "segment reference kind %d", b[9])
		}
	case FrameData:
		f.Req = be.Uint32(b[1:])
		f.Size = be.Uint32(b[5:])
		f.Offset = be.Uint32(b[9:])
	case FrameChunk:
		f.Req = be.Uint32(b[1:])
		f.Payload = b[5:len(b):len(b)]
	case FrameDone, FrameCancel, FrameAbsent:
		f.Req = be.Uint32(b[1:])
	case FrameBusy:
		f.Req = be.Uint32(b[1:])
		f.RetryAfterMs = be.Uint32(b[5:])
	case FramePush:
		f.Req = be.Uint32(b[1:])
		f.Seq = be.Uint64(b[5:])
	}
	if err := f.validate(); err != nil {
		return Frame{}, err
	}
	return f, nil
}

// validate enforces the value rules shared by AppendFrame and DecodeFrame.
func (f *Frame) validate() *FrameError {
	switch f.Type {
	case FrameHello:
		if f.MinVersion == 0 || f.MinVersion > f.MaxVersion {
			return frameErr(FrameErrBadValue, f.Type, "versions %d..%d", f.MinVersion, f.MaxVersion)
		}
	case FrameHave:
		if err := f.Have.Validate(); err != nil {
			return frameErr(FrameErrBadValue, f.Type, "%s", err.Error())
		}
	case FrameRequest:
		if f.Key != "" {
			if f.Seq != 0 {
				return frameErr(FrameErrBadValue, f.Type, "both seq and key")
			}
			if err := checkKey("key", f.Key); err != nil {
				return frameErr(FrameErrBadValue, f.Type, "%s", err.(*Error).Message)
			}
		} else if f.Seq > MaxSequence {
			return frameErr(FrameErrBadValue, f.Type, "seq %d above MaxSequence", f.Seq)
		}
	case FrameData:
		if f.Size == 0 || f.Offset > f.Size {
			return frameErr(FrameErrBadValue, f.Type, "offset %d, size %d", f.Offset, f.Size)
		}
	case FrameChunk:
		if len(f.Payload) == 0 || len(f.Payload) > MaxChunkPayload {
			return frameErr(FrameErrBadValue, f.Type, "payload of %d bytes, allowed 1..%d", len(f.Payload), MaxChunkPayload)
		}
	case FramePush:
		if f.Req < MinPushReq {
			return frameErr(FrameErrBadValue, f.Type, "push id %d below MinPushReq", f.Req)
		}
		if f.Seq > MaxSequence {
			return frameErr(FrameErrBadValue, f.Type, "seq %d above MaxSequence", f.Seq)
		}
	case FrameDone, FrameCancel, FrameAbsent, FrameBusy:
	default:
		return frameErr(FrameErrUnknown, 0, "type byte 0x%02x", uint8(f.Type))
	}
	return nil
}

// Hello returns the hello frame this package sends: versions 1 through
// PeerVersion, with FlagServes when serves is true.
func Hello(serves bool) Frame {
	f := Frame{Type: FrameHello, MinVersion: 1, MaxVersion: PeerVersion}
	if serves {
		f.Flags = FlagServes
	}
	return f
}

// NegotiateVersion returns the peer protocol version to speak with a peer
// whose hello is h: the highest version both speak. ok is false when the
// ranges do not meet; the connection is then closed.
func NegotiateVersion(h Frame) (version uint8, ok bool) {
	v := min(h.MaxVersion, PeerVersion)
	if h.Type != FrameHello || v < h.MinVersion || v < 1 {
		return 0, false
	}
	return v, true
}
