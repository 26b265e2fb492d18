package node

import (
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/edgeswarm/edgeswarm/analytics"
	"github.com/edgeswarm/edgeswarm/cache"
	"github.com/edgeswarm/edgeswarm/wire"
)

// This file wires the analytics: its API and dashboard on the admin port,
// the viewers' beacons on the public one, and the playlists the node
// serves, which decide what counts as a stream of its own.

// mountAnalytics serves the dashboard at / and the read-only API under
// /api/v1 on the admin mux, the API behind the admin token when one is
// set. (The admin API's own token middleware replaces requireToken when
// the control API lands.)
func (n *Node) mountAnalytics(mux *http.ServeMux) {
	// The control API answers the rest of the prefix.
	api := n.RequireAdminToken(n.stats.API())
	for _, p := range []string{"/streams", "/streams/", "/series", "/events"} {
		mux.Handle(analytics.APIPrefix+p, api)
	}
	dash := n.stats.Dashboard()
	mux.Handle("GET /{$}", dash)
	mux.Handle("GET "+analytics.DashboardPrefix, dash)
}

// notePlaylist tells the analytics which playlists the node served.
func (n *Node) notePlaylist(fi cache.FillInfo) {
	switch fi.Kind {
	case cache.KindMasterPlaylist:
		n.stats.AddPlaylist(fi.Key, true)
	case cache.KindLivePlaylist, cache.KindVODPlaylist:
		n.stats.AddPlaylist(fi.Key, false)
	}
}

// beaconCORS returns the Access-Control-Allow-Origin value for a page
// origin, like the edge answers the other public routes, or "".
func (n *Node) beaconCORS(origin string) string {
	allowed := n.cfg.CORS.AllowOrigins
	switch {
	case slices.Contains(allowed, "*"):
		return "*"
	case origin != "" && slices.Contains(allowed, origin):
		return origin
	}
	return ""
}

// beacon answers POST BeaconPath (and its preflight) whatever the front:
// status and a plain text body.
func (n *Node) beacon(method, origin string, addr netip.Addr, body []byte, set func(name, value string)) (int, string) {
	if ao := n.beaconCORS(origin); ao != "" {
		set("Access-Control-Allow-Origin", ao)
		if ao != "*" {
			set("Vary", "Origin")
		}
	}
	switch method {
	case http.MethodOptions:
		set("Access-Control-Allow-Methods", "POST, OPTIONS")
		set("Access-Control-Allow-Headers", "Content-Type")
		set("Access-Control-Max-Age", strconv.Itoa(int(n.cfg.CORS.MaxAge.Seconds())))
		return http.StatusNoContent, ""
	case http.MethodPost:
	default:
		set("Allow", "POST, OPTIONS")
		return http.StatusMethodNotAllowed, "POST a stats message\n"
	}
	if err := n.stats.Beacon(addr, body); err != nil {
		if be, ok := err.(*analytics.BeaconError); ok {
			return be.Status, be.Msg + "\n"
		}
		return http.StatusBadRequest, err.Error() + "\n"
	}
	return http.StatusNoContent, ""
}

func (n *Node) beaconH1(ctx *fasthttp.RequestCtx) {
	addr, _ := netip.AddrFromSlice(ctx.RemoteIP())
	status, msg := n.beacon(string(ctx.Method()), string(ctx.Request.Header.Peek("Origin")), addr, ctx.Request.Body(),
		func(name, value string) { ctx.Response.Header.Set(name, value) })
	ctx.SetStatusCode(status)
	if msg != "" {
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString(msg)
	}
	n.metrics.observe(protoH1, status, 0)
}

func (n *Node) beaconHTTP(w http.ResponseWriter, r *http.Request, p proto) {
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		addr = ap.Addr()
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, wire.MaxBeaconSize+1))
		if err != nil {
			http.Error(w, "request body cut short", http.StatusBadRequest)
			return
		}
		body = b
	}
	status, msg := n.beacon(r.Method, r.Header.Get("Origin"), addr, body, w.Header().Set)
	if msg != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
	n.metrics.observe(p, status, int64(len(msg)))
}
