package wire

// Versions and names shared by every implementation of the protocols.
const (
	// SignalVersion is the signaling protocol version this package speaks:
	// the value of "v" in every message.
	SignalVersion = 1
	// PeerVersion is the highest peer protocol version this package speaks;
	// peers negotiate the version in their hello frames. Version 2 adds
	// the push frame to version 1.
	PeerVersion = 2
	// SignalPath is the HTTP path of the signaling WebSocket.
	SignalPath = "/swarm"
	// TicketHeader is the response header carrying the swarm ticket on an
	// authorized media playlist response. The ticket is opaque to clients,
	// which send it back unchanged in [Join].
	TicketHeader = "Edgeswarm-Ticket"
	// SwarmHeader is the response header carrying the content key of a
	// media playlist: the swarm a client joins to fetch its segments
	// over P2P. A playlist response without it has no swarm.
	SwarmHeader = "Edgeswarm-Swarm"
	// BeaconPath is where a viewer without a signaling connection POSTs
	// its stats message (one JSON object, at most MaxBeaconSize bytes).
	BeaconPath = "/edgeswarm/report"
	// MaxBeaconSize bounds the body of one beacon.
	MaxBeaconSize = 4 << 10
	// DataChannelLabel is the label of the one DataChannel two peers open.
	DataChannelLabel = "edgeswarm"
)

// Limits of the signaling protocol. Lengths are counted in bytes of UTF-8.
const (
	// MaxMessageSize bounds one signaling message (one WebSocket message).
	MaxMessageSize = 16 << 10
	// MaxDepth bounds the nesting of JSON objects and arrays in a message.
	MaxDepth = 8
	// MaxKeyLen bounds a content key: a swarm or a segment key.
	MaxKeyLen = 1024
	// MaxTicketLen bounds a swarm ticket.
	MaxTicketLen = 1024
	// MaxClientLen bounds the client software identifier in join.
	MaxClientLen = 64
	// MaxPeerIDLen bounds a server-assigned peer id.
	MaxPeerIDLen = 16
	// MaxSessionIDLen bounds a relay session id.
	MaxSessionIDLen = 16
	// MaxSDPLen bounds the SDP of an offer or an answer.
	MaxSDPLen = 12 << 10
	// MaxCandidateLen bounds an ICE candidate line.
	MaxCandidateLen = 1024
	// MaxMidLen bounds sdp_mid and ufrag in a candidate relay.
	MaxMidLen = 64
	// MaxErrorMessageLen bounds the human message of an error.
	MaxErrorMessageLen = 256
	// MaxCodeLen bounds an error code or a report reason.
	MaxCodeLen = 32
	// MaxPeersPerMessage bounds the candidates listed in one peers message.
	MaxPeersPerMessage = 64
	// MaxDigestsPerMessage bounds the segments listed in one digest message.
	MaxDigestsPerMessage = 32
	// MaxQueryKeys bounds the keys asked for in one digest_query.
	MaxQueryKeys = 16
	// MaxHaveRanges bounds the ranges in one have summary.
	MaxHaveRanges = 32
	// MaxRewrites bounds the key-rewrite rules in a client config.
	MaxRewrites = 16
	// MaxPatternLen bounds a rewrite rule's match and replace strings.
	MaxPatternLen = 256
	// MaxICEServers bounds the ICE servers in a client config.
	MaxICEServers = 8
	// MaxICEURLs bounds the URLs of one ICE server.
	MaxICEURLs = 8
	// MaxSignalURLs bounds ClientConfig.SignalURLs.
	MaxSignalURLs = 16
	// MaxSignalURLLen bounds one signaling URL, in bytes.
	MaxSignalURLLen = 256
	// MaxICEFieldLen bounds an ICE server URL, username or credential.
	MaxICEFieldLen = 256
	// MaxSequence is the largest media sequence number either protocol
	// carries: 2^53-1, the largest integer a JavaScript number holds exactly.
	MaxSequence = 1<<53 - 1
	// MaxCounter bounds every counter in stats (same reason as MaxSequence).
	MaxCounter = 1<<53 - 1
	// MaxSegmentSize is the largest segment either protocol can describe.
	MaxSegmentSize = 1<<32 - 1
)

// Limits of the peer protocol.
const (
	// MaxFrameSize bounds one peer frame (one DataChannel message): 64 KiB
	// minus one byte, which every browser's SCTP stack accepts.
	MaxFrameSize = 1<<16 - 1
	// ChunkHeaderSize is the size of a chunk frame's header (type + req).
	ChunkHeaderSize = 5
	// MaxChunkPayload is the largest payload of one chunk frame.
	MaxChunkPayload = MaxFrameSize - ChunkHeaderSize
	// MaxHaveBits bounds the sequences one have-map covers.
	MaxHaveBits = 1024
)

// Flow control of a DataChannel sender, in bytes of RTCDataChannel
// bufferedAmount. A sender stops queueing frames once bufferedAmount
// exceeds BufferedAmountHigh and resumes on the bufferedamountlow event,
// whose threshold (bufferedAmountLowThreshold) is BufferedAmountLow. With
// frames of at most MaxFrameSize bytes the channel buffer never holds more
// than BufferedAmountHigh+MaxFrameSize bytes.
const (
	BufferedAmountHigh = 1 << 20
	BufferedAmountLow  = 256 << 10
)
