// Package control implements the node's control API: JSON under /api/v1
// on the admin port, behind a bearer token. It owns the per-content
// delivery policies (matched by content-key prefix or regular expression,
// first match wins, resolved per viewer platform), and hands out the
// endpoints that read swarms and peers, purge cached objects and reload
// the configuration.
//
// The package keeps no globals and opens no listener: [New] returns an
// http.Handler that node mounts, and [RequireToken] is the middleware node
// puts in front of it and of the other admin handlers. It never reaches
// into the cache, the tracker or the configuration file itself: node
// passes those in as the small interfaces below. Policies flow one way,
// from here to the tracker ([Policies.OnChange]) and on to viewers; the
// browser never asks this API.
package control
