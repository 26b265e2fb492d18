package wire

import "strings"

// The golden vectors: the source of truth for testdata/. Run
// `go test ./wire -run Golden -update` after changing them.

func ptr[T any](v T) *T { return &v }

const sampleSDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:Xq8h\r\na=ice-pwd:bEWGd3nGk0ZVyDKZb4ZrqSq6\r\na=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:D6:BC\r\n" +
	"a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n"

const (
	sha1 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	sha2 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

type signalVector struct {
	name string
	msg  Message
	// text, when set, is a non-canonical input that decodes to msg.
	text string
}

type signalFile struct {
	typ     Type
	vectors []signalVector
}

func welcomeConfig() ClientConfig {
	c := DefaultClientConfig()
	c.Keys = KeyRules{Rewrites: []Rewrite{{Match: `^/(?:xyz|abc)/`, Replace: "/"}, {Match: `_\d+k(\.ts)$`, Replace: "${1}"}}}
	c.ICEServers = []ICEServer{{URLs: []string{"stun:stun.example.net:3478"}}, {URLs: []string{"turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:5349"}, Username: "viewer", Credential: "s3cret"}}
	return c
}

var signalFiles = []signalFile{
	{TypeJoin, []signalVector{
		{name: "minimal", msg: &Join{Swarm: "/live/channel1/720p.m3u8"}},
		{name: "full", msg: &Join{Swarm: "/live/channel1/720p.m3u8", Ticket: "v1.1767225600.c3dhcm0.Zm9yZ2VkIG5ldmVy", Caps: Caps{Upload: true}, Client: "edgeswarm-js/0.1.0"}},
		{name: "mobile", msg: &Join{Swarm: "/vod/film/1080p.m3u8", Caps: Caps{Mobile: true}, Client: "edgeswarm-js/0.1.0 (hls.js)"}},
		{name: "non_canonical", msg: &Join{Swarm: "/live/é/720p.m3u8", Caps: Caps{Upload: true}},
			text: "{ \"type\" : \"join\",\n  \"swarm\": \"\\/live\\/\\u00e9/720p.m3u8\", \"caps\": {\"upload\": true, \"mobile\": false},\n  \"future_field\": [1, {\"x\": \"y\"}], \"v\": 1 }"},
	}},
	{TypeWelcome, []signalVector{
		{name: "defaults", msg: &Welcome{PeerID: "p1", Swarm: "/live/channel1/720p.m3u8", Config: DefaultClientConfig()}},
		{name: "full", msg: &Welcome{PeerID: "Zk3-9_a", Swarm: "/live/channel1/720p.m3u8", Config: welcomeConfig()}},
		{name: "holdback", msg: &Welcome{PeerID: "p2", Swarm: "/live/channel1/720p.m3u8", Config: holdbackConfig()}},
	}},
	{TypePeers, []signalVector{
		{name: "with_seeder", msg: &Peers{Peers: []PeerInfo{{ID: "s0", Seeder: true}, {ID: "p7"}, {ID: "p12"}}}},
		{name: "one", msg: &Peers{Peers: []PeerInfo{{ID: "p9"}}}},
	}},
	{TypePeerLeft, []signalVector{
		{name: "basic", msg: &PeerLeft{ID: "p7"}},
	}},
	{TypeRelay, []signalVector{
		{name: "offer_to", msg: &Relay{To: "s0", Session: "a1", Kind: KindOffer, SDP: sampleSDP}},
		{name: "answer_from", msg: &Relay{From: "p7", Session: "a1", Kind: KindAnswer, SDP: strings.Replace(sampleSDP, "actpass", "active", 1)}},
		{name: "candidate_to", msg: &Relay{To: "p7", Session: "a1", Kind: KindCandidate,
			Candidate: "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-cost 999",
			SDPMid:    ptr("0"), SDPMLineIndex: ptr(0), Ufrag: "Xq8h"}},
		{name: "end_of_candidates_from", msg: &Relay{From: "p7", Session: "a1", Kind: KindCandidate, SDPMid: ptr("0"), SDPMLineIndex: ptr(0)}},
	}},
	{TypeHave, []signalVector{
		{name: "ranges", msg: &Have{Ranges: []SeqRange{{1200, 1209}, {1211, 1211}, {1213, 1220}}}},
		{name: "empty", msg: &Have{}},
		{name: "empty_array", msg: &Have{}, text: `{"v":1,"type":"have","ranges":[]}`},
		{name: "max_sequence", msg: &Have{Ranges: []SeqRange{{0, 0}, {MaxSequence, MaxSequence}}}},
	}},
	{TypeDigest, []signalVector{
		{name: "two", msg: &Digest{Segments: []SegmentDigest{
			{Key: "/live/channel1/720p/seg1210.ts", Seq: ptr[uint64](1210), Size: 1843200, SHA256: sha1},
			{Key: "/live/channel1/720p/init.mp4", Size: 812, SHA256: sha2},
		}}},
		{name: "seq_zero", msg: &Digest{Segments: []SegmentDigest{{Key: "/vod/film/1080p/0.ts", Seq: ptr[uint64](0), Size: MaxSegmentSize, SHA256: sha2}}}},
	}},
	{TypeDigestQuery, []signalVector{
		{name: "two", msg: &DigestQuery{Keys: []string{"/live/channel1/720p/seg1208.ts", "/live/channel1/720p/seg1209.ts"}}},
	}},
	{TypeStats, []signalVector{
		{name: "full", msg: &Stats{HTTPBytes: 52428800, P2PBytes: 104857600, SeedBytes: 20971520, UploadBytes: 157286400, DigestFailures: 1, Aborts: 3, Peers: 5}},
		{name: "zero", msg: &Stats{}},
		{name: "telemetry", msg: &Stats{HTTPBytes: 4194304, P2PBytes: 12582912, SeedBytes: 2097152, UploadBytes: 8388608, Peers: 4,
			RelayBytes: 1048576, Stalls: 1, StallMs: 850, WatchMs: 60000, StartupMs: 412, Bitrate: 2500000, LiveMs: 7200,
			Browser: "chrome", BrowserMajor: 131, WebRTC: true, Upload: true, Group: GroupP2P, Stream: "/live/channel1/master.m3u8",
			Errors: ErrorCounts{HTTP: 2, Peer: 1}}},
		{name: "beacon", msg: &Stats{HTTPBytes: 6291456, WatchMs: 30000, StartupMs: 380, Bitrate: 800000, LiveMs: 6100,
			Browser: "safari", BrowserMajor: 17, Mobile: true, Group: GroupHTTP, Stream: "/live/channel1/master.m3u8",
			Swarm: "/live/channel1/480p.m3u8", Session: "k3Jd9sQz"}},
		{name: "relayed", msg: &Stats{HTTPBytes: 1000, RelayBytes: 4000, Peers: 1}},
	}},
	{TypeReport, []signalVector{
		{name: "digest_mismatch", msg: &Report{Peer: "p7", Reason: ReasonDigestMismatch, Key: "/live/channel1/720p/seg1210.ts"}},
		{name: "unresponsive", msg: &Report{Peer: "p12", Reason: ReasonUnresponsive}},
		{name: "digest_mismatch_checkable", msg: &Report{Peer: "p7", Reason: ReasonDigestMismatch, Key: "/live/channel1/720p/seg1210.ts", SHA256: sha2, Size: 1843200}},
		{name: "size_mismatch", msg: &Report{Peer: "p7", Reason: ReasonDigestMismatch, Key: "/live/channel1/720p/seg1210.ts", Size: 4294967295}},
	}},
	{TypeError, []signalVector{
		{name: "ticket_invalid", msg: &Error{Code: CodeTicketInvalid, Message: "ticket expired at 2026-01-01T00:00:00Z"}},
		{name: "rate_limited", msg: &Error{Code: CodeRateLimited, Message: "more than 50 messages per second", RetryMs: 1000}},
		{name: "going_away", msg: &Error{Code: CodeGoingAway, Message: "the node is shutting down; reconnect", RetryMs: 1000}},
		{name: "unknown_code", msg: &Error{Code: "some_future_code", Message: "clients accept codes they do not know"}},
	}},
	{TypeLeave, []signalVector{
		{name: "basic", msg: &Leave{}},
	}},
	{TypePolicy, policyVectors},
}

// rejectedSignal are inputs every decoder refuses. decoder is "any",
// "from_client" (the server's decoder) or "from_server" (a client's).
type rejectedSignalVector struct {
	name    string
	text    string // or, when not valid UTF-8:
	hex     string
	decoder string
	code    Code
}

func bigJoin() string {
	head := `{"v":1,"type":"join","swarm":"/a","pad":"`
	return head + strings.Repeat("x", MaxMessageSize+1-len(head)-2) + `"}`
}

var rejectedSignal = []rejectedSignalVector{
	{name: "too_large", text: bigJoin(), code: CodeTooLarge},
	{name: "not_utf8", hex: "7b2276223a312c2274797065223a226a6f696e222c22737761726d223a222fff227d", code: CodeBadRequest},
	{name: "not_json", text: `{"v":1,"type":"join",`, code: CodeBadRequest},
	{name: "not_object", text: `[{"v":1,"type":"leave"}]`, code: CodeBadRequest},
	{name: "trailing_data", text: `{"v":1,"type":"leave"} {}`, code: CodeBadRequest},
	{name: "missing_version", text: `{"type":"leave"}`, code: CodeBadRequest},
	{name: "version_2", text: `{"v":2,"type":"leave"}`, code: CodeUnsupportedVersion},
	{name: "version_string", text: `{"v":"1","type":"leave"}`, code: CodeBadRequest},
	{name: "version_float", text: `{"v":1.0,"type":"leave"}`, code: CodeBadRequest},
	{name: "missing_type", text: `{"v":1}`, code: CodeBadRequest},
	{name: "unknown_type", text: `{"v":1,"type":"subscribe"}`, code: CodeUnknownType},
	{name: "upper_case_key", text: `{"v":1,"type":"join","Swarm":"/a.m3u8"}`, code: CodeBadRequest},
	{name: "kelvin_sign_key", text: `{"v":1,"type":"peer_left","\u212a":"p1","id":"p1"}`, code: CodeBadRequest},
	{name: "duplicate_key", text: `{"v":1,"type":"join","swarm":"/a.m3u8","swarm":"/b.m3u8"}`, code: CodeBadRequest},
	{name: "null_value", text: `{"v":1,"type":"join","swarm":"/a.m3u8","ticket":null}`, code: CodeBadRequest},
	{name: "too_deep", text: `{"v":1,"type":"leave","x":[[[[[[[[1]]]]]]]]}`, code: CodeBadRequest},
	{name: "join_missing_swarm", text: `{"v":1,"type":"join"}`, code: CodeBadRequest},
	{name: "join_swarm_control_char", text: `{"v":1,"type":"join","swarm":"/a\n.m3u8"}`, code: CodeBadRequest},
	{name: "join_swarm_too_long", text: `{"v":1,"type":"join","swarm":"/` + strings.Repeat("a", MaxKeyLen) + `"}`, code: CodeBadRequest},
	{name: "join_ticket_space", text: `{"v":1,"type":"join","swarm":"/a.m3u8","ticket":"a b"}`, code: CodeBadRequest},
	{name: "join_caps_not_bool", text: `{"v":1,"type":"join","swarm":"/a.m3u8","caps":{"upload":1}}`, code: CodeBadRequest},
	{name: "join_from_server", text: `{"v":1,"type":"join","swarm":"/a.m3u8"}`, decoder: "from_server", code: CodeBadRequest},
	{name: "welcome_from_client", text: `{"v":1,"type":"peer_left","id":"p1"}`, decoder: "from_client", code: CodeBadRequest},
	{name: "welcome_bad_config", text: `{"v":1,"type":"welcome","peer_id":"p1","swarm":"/a.m3u8","config":{"max_peers":0}}`, code: CodeBadRequest},
	{name: "peers_empty", text: `{"v":1,"type":"peers","peers":[]}`, code: CodeBadRequest},
	{name: "peer_id_bad_char", text: `{"v":1,"type":"peer_left","id":"p 1"}`, code: CodeBadRequest},
	{name: "relay_to_and_from", text: `{"v":1,"type":"relay","to":"p1","from":"p2","session":"a","kind":"answer","sdp":"v=0"}`, code: CodeBadRequest},
	{name: "relay_from_by_client", text: `{"v":1,"type":"relay","from":"p2","session":"a","kind":"answer","sdp":"v=0"}`, decoder: "from_client", code: CodeBadRequest},
	{name: "relay_to_by_server", text: `{"v":1,"type":"relay","to":"p2","session":"a","kind":"answer","sdp":"v=0"}`, decoder: "from_server", code: CodeBadRequest},
	{name: "relay_offer_without_sdp", text: `{"v":1,"type":"relay","to":"p1","session":"a","kind":"offer"}`, code: CodeBadRequest},
	{name: "relay_candidate_with_sdp", text: `{"v":1,"type":"relay","to":"p1","session":"a","kind":"candidate","sdp":"v=0"}`, code: CodeBadRequest},
	{name: "relay_bad_kind", text: `{"v":1,"type":"relay","to":"p1","session":"a","kind":"pranswer","sdp":"v=0"}`, code: CodeBadRequest},
	{name: "relay_mline_too_big", text: `{"v":1,"type":"relay","to":"p1","session":"a","kind":"candidate","sdp_mline_index":65536}`, code: CodeBadRequest},
	{name: "relay_missing_session", text: `{"v":1,"type":"relay","to":"p1","kind":"answer","sdp":"v=0"}`, code: CodeBadRequest},
	{name: "have_overlap", text: `{"v":1,"type":"have","ranges":[[1,5],[5,9]]}`, code: CodeBadRequest},
	{name: "have_adjacent", text: `{"v":1,"type":"have","ranges":[[1,5],[6,9]]}`, code: CodeBadRequest},
	{name: "have_three_numbers", text: `{"v":1,"type":"have","ranges":[[1,5,9]]}`, code: CodeBadRequest},
	{name: "have_reversed", text: `{"v":1,"type":"have","ranges":[[9,5]]}`, code: CodeBadRequest},
	{name: "have_above_max_sequence", text: `{"v":1,"type":"have","ranges":[[1,9007199254740992]]}`, code: CodeBadRequest},
	{name: "digest_upper_case_hex", text: `{"v":1,"type":"digest","segments":[{"key":"/a.ts","size":1,"sha256":"` + strings.ToUpper(sha1) + `"}]}`, code: CodeBadRequest},
	{name: "digest_size_zero", text: `{"v":1,"type":"digest","segments":[{"key":"/a.ts","size":0,"sha256":"` + sha1 + `"}]}`, code: CodeBadRequest},
	{name: "digest_query_empty", text: `{"v":1,"type":"digest_query","keys":[]}`, code: CodeBadRequest},
	{name: "stats_negative", text: `{"v":1,"type":"stats","http_bytes":-1}`, code: CodeBadRequest},
	{name: "stats_fraction", text: `{"v":1,"type":"stats","http_bytes":1.5}`, code: CodeBadRequest},
	{name: "stats_exponent", text: `{"v":1,"type":"stats","http_bytes":1e3}`, code: CodeBadRequest},
	{name: "stats_bad_group", text: `{"v":1,"type":"stats","group":"vip"}`, code: CodeBadRequest},
	{name: "stats_bad_browser", text: `{"v":1,"type":"stats","browser":"Chrome 131"}`, code: CodeBadRequest},
	{name: "stats_startup_too_long", text: `{"v":1,"type":"stats","startup_ms":600001}`, code: CodeBadRequest},
	{name: "stats_error_negative", text: `{"v":1,"type":"stats","errors":{"http":-1}}`, code: CodeBadRequest},
	{name: "stats_bad_session", text: `{"v":1,"type":"stats","session":"a b"}`, code: CodeBadRequest},
	{name: "report_bad_reason", text: `{"v":1,"type":"report","peer":"p1","reason":"Bad Peer"}`, code: CodeBadRequest},
	{name: "report_bad_sha256", text: `{"v":1,"type":"report","peer":"p1","reason":"digest_mismatch","key":"/a.ts","sha256":"ABCD"}`, code: CodeBadRequest},
	{name: "report_size_too_big", text: `{"v":1,"type":"report","peer":"p1","reason":"digest_mismatch","key":"/a.ts","size":4294967296}`, code: CodeBadRequest},
	{name: "report_hash_without_key", text: `{"v":1,"type":"report","peer":"p1","reason":"digest_mismatch","size":10}`, code: CodeBadRequest},
	{name: "error_missing_message", text: `{"v":1,"type":"error","code":"internal"}`, code: CodeBadRequest},
	{name: "policy_missing_revision", text: `{"v":1,"type":"policy","p2p_off":true}`, code: CodeBadRequest},
	{name: "policy_max_peers_too_big", text: `{"v":1,"type":"policy","revision":1,"max_peers":65}`, code: CodeBadRequest},
	{name: "policy_critical_negative", text: `{"v":1,"type":"policy","revision":1,"critical_ms":-1}`, code: CodeBadRequest},
	{name: "policy_critical_too_big", text: `{"v":1,"type":"policy","revision":1,"critical_ms":600001}`, code: CodeBadRequest},
	{name: "policy_p2p_off_not_bool", text: `{"v":1,"type":"policy","revision":1,"p2p_off":"yes"}`, code: CodeBadRequest},
	{name: "policy_from_client", text: `{"v":1,"type":"policy","revision":1}`, decoder: "from_client", code: CodeBadRequest},
}

type frameVector struct {
	name  string
	frame Frame
}

type frameFile struct {
	typ     FrameType
	vectors []frameVector
}

func haveMap(base uint64, count int, seqs ...uint64) HaveMap {
	h := NewHaveMap(base, count)
	for _, s := range seqs {
		h.Set(s)
	}
	if count == 0 {
		h.Bits = nil
	}
	return h
}

var frameFiles = []frameFile{
	{FrameHello, []frameVector{
		{"serves", Frame{Type: FrameHello, MinVersion: 1, MaxVersion: 1, Flags: FlagServes}},
		{"download_only", Frame{Type: FrameHello, MinVersion: 1, MaxVersion: 1}},
		{"future_peer", Frame{Type: FrameHello, MinVersion: 1, MaxVersion: 3, Flags: 0x81}},
		{"v2_accepts_push", Frame{Type: FrameHello, MinVersion: 1, MaxVersion: 2, Flags: FlagServes | FlagAcceptsPush}},
	}},
	{FrameHave, []frameVector{
		{"empty", Frame{Type: FrameHave, Have: haveMap(0, 0)}},
		{"live_window", Frame{Type: FrameHave, Have: haveMap(1200, 12, 1200, 1201, 1202, 1203, 1204, 1205, 1206, 1207, 1208, 1209, 1211)}},
		{"sparse", Frame{Type: FrameHave, Have: haveMap(MaxSequence-15, 16, MaxSequence-15, MaxSequence)}},
	}},
	{FrameRequest, []frameVector{
		{"by_seq", Frame{Type: FrameRequest, Req: 1, Seq: 1210}},
		{"by_seq_resume", Frame{Type: FrameRequest, Req: 0x01020304, Seq: 1210, Offset: 65536}},
		{"by_key", Frame{Type: FrameRequest, Req: 7, Key: "/live/channel1/720p/init.mp4"}},
	}},
	{FrameData, []frameVector{
		{"whole", Frame{Type: FrameData, Req: 1, Size: 1843200}},
		{"resume", Frame{Type: FrameData, Req: 0x01020304, Size: 1843200, Offset: 65536}},
		{"nothing_left", Frame{Type: FrameData, Req: 9, Size: 812, Offset: 812}},
	}},
	{FrameChunk, []frameVector{
		{"small", Frame{Type: FrameChunk, Req: 1, Payload: []byte("edgeswarm")}},
		{"one_byte", Frame{Type: FrameChunk, Req: 0xffffffff, Payload: []byte{0}}},
	}},
	{FrameDone, []frameVector{{"basic", Frame{Type: FrameDone, Req: 1}}}},
	{FrameCancel, []frameVector{{"basic", Frame{Type: FrameCancel, Req: 1}}}},
	{FrameAbsent, []frameVector{{"basic", Frame{Type: FrameAbsent, Req: 7}}}},
	{FrameBusy, []frameVector{
		{"retry_after", Frame{Type: FrameBusy, Req: 3, RetryAfterMs: 1500}},
		{"no_hint", Frame{Type: FrameBusy, Req: 4}},
	}},
	{FramePush, []frameVector{
		{"first", Frame{Type: FramePush, Req: MinPushReq, Seq: 1211}},
		{"last_id", Frame{Type: FramePush, Req: 0xffffffff, Seq: MaxSequence}},
	}},
}

type rejectedFrameVector struct {
	name  string
	hex   string
	padTo int
	code  FrameErrorCode
}

var rejectedFrames = []rejectedFrameVector{
	{"empty", "", 0, FrameErrEmpty},
	{"type_zero", "00", 0, FrameErrUnknown},
	{"type_unknown", "0b00000001", 0, FrameErrUnknown},
	{"too_large", "0500000001", MaxFrameSize + 1, FrameErrTooLarge},
	{"hello_truncated", "010101", 0, FrameErrTruncated},
	{"hello_trailing", "0101010100", 0, FrameErrTrailing},
	{"hello_version_zero", "01000101", 0, FrameErrBadValue},
	{"hello_min_above_max", "01020101", 0, FrameErrBadValue},
	{"have_truncated_header", "02000000000000000000", 0, FrameErrTruncated},
	{"have_truncated_bitmap", "0200000000000000000009ff", 0, FrameErrTruncated},
	{"have_trailing", "0200000000000000000008ff00", 0, FrameErrTrailing},
	{"have_padding_bits", "0200000000000000000004f1", 0, FrameErrBadValue},
	{"have_too_many_bits", "0200000000000000000401" + strings.Repeat("00", 129), 0, FrameErrBadValue},
	{"have_past_max_sequence", "02001ffffffffffffe000301", 0, FrameErrBadValue},
	{"request_truncated", "0300000001000000000000", 0, FrameErrTruncated},
	{"request_seq_trailing", "030000000100000000000000000000000001ff", 0, FrameErrTrailing},
	{"request_seq_too_big", "030000000100000000000020000000000000", 0, FrameErrBadValue},
	{"request_bad_ref_kind", "030000000100000000020000000000000001", 0, FrameErrBadValue},
	{"request_key_empty", "030000000100000000010000", 0, FrameErrBadValue},
	{"request_key_trailing", "0300000001000000000100022f6100", 0, FrameErrTrailing},
	{"request_key_truncated", "03000000010000000001000a2f612e7473000000", 0, FrameErrTruncated},
	{"request_key_not_utf8", "0300000001000000000100062f61ff2e7473", 0, FrameErrBadValue},
	{"request_key_control_char", "0300000001000000000100062f610a2e7473", 0, FrameErrBadValue},
	{"data_size_zero", "04000000010000000000000000", 0, FrameErrBadValue},
	{"data_offset_past_size", "04000000010000000a0000000b", 0, FrameErrBadValue},
	{"data_truncated", "040000000100000001", 0, FrameErrTruncated},
	{"chunk_empty", "0500000001", 0, FrameErrTruncated},
	{"done_trailing", "060000000100", 0, FrameErrTrailing},
	{"cancel_truncated", "07000001", 0, FrameErrTruncated},
	{"busy_truncated", "0900000001", 0, FrameErrTruncated},
	{"push_truncated", "0a800000010000000000", 0, FrameErrTruncated},
	{"push_trailing", "0a8000000100000000000004bb00", 0, FrameErrTrailing},
	{"push_id_below_min", "0a7fffffff00000000000004bb", 0, FrameErrBadValue},
	{"push_seq_too_big", "0a800000010020000000000000", 0, FrameErrBadValue},
}
