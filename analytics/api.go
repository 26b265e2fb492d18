package analytics

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIPrefix is where the API handler expects to be mounted.
const APIPrefix = "/api/v1"

// maxWindow bounds ?window=: what the 1 min points hold.
const maxWindow = 7 * 24 * time.Hour

// API returns the read-only analytics endpoints (docs/analytics.md):
//
//	GET /api/v1/streams            Overview
//	GET /api/v1/streams/{id...}    StreamDetail (id: the stream's key without its leading "/", or node, other)
//	GET /api/v1/series             Series (?stream=, ?res=10s|1m, ?since=)
//	GET /api/v1/events             the Overview and the newest node points, as server-sent events
//
// It checks no token: the node mounts it behind the admin token.
func (a *Analytics) API() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+APIPrefix+"/streams", func(w http.ResponseWriter, r *http.Request) {
		at, window, ok := viewParams(w, r)
		if ok {
			writeJSON(w, a.Overview(at, window))
		}
	})
	mux.HandleFunc("GET "+APIPrefix+"/streams/{id...}", func(w http.ResponseWriter, r *http.Request) {
		at, window, ok := viewParams(w, r)
		if !ok {
			return
		}
		d, found := a.Stream(streamName(r.PathValue("id")), at, window)
		if !found {
			apiError(w, http.StatusNotFound, "no stream %q with figures of its own", r.PathValue("id"))
			return
		}
		writeJSON(w, d)
	})
	mux.HandleFunc("GET "+APIPrefix+"/series", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		res := 10 * time.Second
		switch q.Get("res") {
		case "", "10s":
		case "1m":
			res = time.Minute
		default:
			apiError(w, http.StatusBadRequest, "res: %q is not 10s or 1m", q.Get("res"))
			return
		}
		at, _, ok := viewParams(w, r)
		if !ok {
			return
		}
		now := at
		if now == 0 {
			now = a.now().Unix()
		}
		since := now - 3600
		if res == time.Minute {
			since = now - int64(maxWindow/time.Second)
		}
		if s := q.Get("since"); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				apiError(w, http.StatusBadRequest, "since: %q is not Unix seconds", s)
				return
			}
			since = v
		}
		name := q.Get("stream")
		if name == "" {
			name = nodeName
		}
		s, found := a.History(name, res, since, now)
		if !found {
			apiError(w, http.StatusNotFound, "stream: no stream %q with figures of its own", name)
			return
		}
		writeJSON(w, s)
	})
	mux.HandleFunc("GET "+APIPrefix+"/events", a.serveEvents)
	return mux
}

// streamName maps an {id} of the path to a series name: stream keys start
// with "/", which the path has eaten.
func streamName(id string) string {
	if id == nodeName || id == otherName {
		return id
	}
	return "/" + id
}

// viewParams reads ?at= (Unix seconds, default now) and ?window= (a Go
// duration, default 5m, at most 7 days).
func viewParams(w http.ResponseWriter, r *http.Request) (int64, time.Duration, bool) {
	q := r.URL.Query()
	var at int64
	if s := q.Get("at"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 {
			apiError(w, http.StatusBadRequest, "at: %q is not Unix seconds", s)
			return 0, 0, false
		}
		at = v
	}
	window := 5 * time.Minute
	if s := q.Get("window"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v < fineWidth*time.Second || v > maxWindow {
			apiError(w, http.StatusBadRequest, "window: %q is not a duration of 10s..168h", s)
			return 0, 0, false
		}
		window = v
	}
	return at, window, true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf(format, args...)})
}

// Event is the data of one server-sent event of /api/v1/events.
type Event struct {
	Overview Overview `json:"overview"`
	// Node holds the node's newest complete 10 s points (the last
	// minute), to extend a series read from /api/v1/series.
	Node Series `json:"node"`
}

// serveEvents streams an Event at once and then every push_interval, as
// "event: update" server-sent events, until the client goes away.
func (a *Analytics) serveEvents(w http.ResponseWriter, r *http.Request) {
	_, window, ok := viewParams(w, r)
	if !ok {
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		apiError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(a.cfg.PushInterval)
	defer t.Stop()
	for {
		now := a.now().Unix()
		ev := Event{Overview: a.Overview(now, window)}
		ev.Node, _ = a.History(nodeName, 10*time.Second, now-60, now)
		b, err := json.Marshal(ev)
		if err != nil {
			return
		}
		var sb strings.Builder
		sb.WriteString("event: update\ndata: ")
		sb.Write(b)
		sb.WriteString("\n\n")
		if _, err := w.Write([]byte(sb.String())); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}
