// Package check implements the stream checker behind `edgeswarm check`: it
// fetches an HLS master playlist the way a player would, then each media
// playlist (twice) and a few segments, and reports what decides whether
// the stream works through the node and between peers: playlist length and
// segment count, segment sizes, how the node stores playlists and segments
// (its own RFC 9111 decision and media TTLs, origin.Cacheability), CORS
// for the page that embeds the player, and per-session parts of segment
// URLs that need a content-key rewrite (with the rule to add, proven with
// the node's own key code).
//
// It is a library: it takes an *http.Client and never opens listeners,
// prints or exits; the command in node formats its Report.
package check
