package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// Prefix is where the API lives on the admin port.
const Prefix = "/api/v1"

// MaxBodySize bounds a request body.
const MaxBodySize = 1 << 20

// SwarmInfo is one swarm as GET /api/v1/swarms lists it.
type SwarmInfo struct {
	// Swarm is the content key of the rendition's media playlist.
	Swarm string `json:"swarm"`
	// Viewers joined on this node; SuperPeers the node's super-peers in it.
	Viewers    int `json:"viewers"`
	SuperPeers int `json:"super_peers"`
	// Policy names the policy that matches the swarm ("" for none).
	Policy string `json:"policy,omitempty"`
}

// PeerInfo is one peer of a swarm. Address is filled only when asked for.
type PeerInfo struct {
	ID        string `json:"id"`
	SuperPeer bool   `json:"super_peer,omitempty"`
	// Platform is "mobile" or "desktop" as the viewer's join said.
	Platform string `json:"platform"`
	// Upload: the tracker offers the viewer to others as a source.
	Upload bool `json:"upload"`
	// Group is "p2p" or "holdback" (HTTP-only by holdback or policy).
	Group string `json:"group"`
	// Bytes are the viewer's own counters since its join (stats
	// messages), as the tracker accepted them.
	Bytes Bytes `json:"bytes"`
	// Peers is the viewer's open peer connections, as it reported.
	Peers int `json:"peers"`
	// Address is the viewer's source IP address (only with ?addresses=1).
	Address string `json:"address,omitempty"`
}

// Bytes are a viewer's byte counters.
type Bytes struct {
	HTTP   uint64 `json:"http"`
	P2P    uint64 `json:"p2p"`
	Seed   uint64 `json:"seed"`
	Upload uint64 `json:"upload"`
}

// Swarms reads the tracker.
type Swarms interface {
	Swarms() []SwarmInfo
	// Peers lists a swarm's peers; ok is false for a swarm without any.
	Peers(swarm string, addresses bool) (peers []PeerInfo, ok bool)
}

// Purger drops cached objects: the one stored under key, or with prefix
// set every one whose key starts with it. It returns how many went.
type Purger interface {
	Purge(key string, prefix bool) int
}

// PurgerFunc adapts a function to Purger.
type PurgerFunc func(key string, prefix bool) int

// Purge implements Purger.
func (f PurgerFunc) Purge(key string, prefix bool) int { return f(key, prefix) }

// ReloadResult says what a reload did.
type ReloadResult struct {
	// Applied lists the keys whose new values took effect.
	Applied []string `json:"applied"`
	// RestartRequired lists keys whose values changed in the file but
	// apply only at the next start; the running values stay.
	RestartRequired []string `json:"restart_required"`
}

// Reloader re-reads the configuration file and applies what may change
// live. An error leaves the running configuration as it was and names
// the key at fault.
type Reloader interface {
	Reload() (ReloadResult, error)
}

// ReloaderFunc adapts a function to Reloader.
type ReloaderFunc func() (ReloadResult, error)

// Reload implements Reloader.
func (f ReloaderFunc) Reload() (ReloadResult, error) { return f() }

// Deps are what the API serves from. Nil parts answer 501.
type Deps struct {
	Policies *Policies
	Swarms   Swarms
	Purger   Purger
	Reloader Reloader
	Log      *slog.Logger
}

// API is the control API's handler (mount it under Prefix, behind
// RequireToken).
type API struct {
	d   Deps
	mux *http.ServeMux
}

var _ http.Handler = (*API)(nil)

// New returns the API over d.
func New(d Deps) *API {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	a := &API{d: d, mux: http.NewServeMux()}
	for _, r := range a.routes() {
		a.mux.HandleFunc(r.method+" "+Prefix+r.path, r.h)
	}
	a.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path+" (see docs/openapi.yaml)")
	})
	return a
}

type route struct {
	method, path string
	h            http.HandlerFunc
}

// routes are the endpoints, as docs/openapi.yaml documents them.
func (a *API) routes() []route {
	return []route{
		{"GET", "/swarms", a.swarms},
		{"GET", "/peers", a.peers},
		{"GET", "/policies", a.listPolicies},
		{"PUT", "/policies", a.replacePolicies},
		{"GET", "/policies/{name}", a.getPolicy},
		{"PUT", "/policies/{name}", a.putPolicy},
		{"DELETE", "/policies/{name}", a.deletePolicy},
		{"POST", "/purge", a.purge},
		{"POST", "/reload", a.reload},
	}
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func (a *API) swarms(w http.ResponseWriter, _ *http.Request) {
	if a.d.Swarms == nil {
		notImplemented(w, "swarms")
		return
	}
	list := a.d.Swarms.Swarms()
	if list == nil {
		list = []SwarmInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"swarms": list})
}

func (a *API) peers(w http.ResponseWriter, r *http.Request) {
	if a.d.Swarms == nil {
		notImplemented(w, "peers")
		return
	}
	q := r.URL.Query()
	swarm := q.Get("swarm")
	if swarm == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "query parameter swarm (a content key, e.g. /live/720p.m3u8) is required")
		return
	}
	addrs := false
	switch v := q.Get("addresses"); v {
	case "", "0", "false":
	case "1", "true":
		addrs = true
	default:
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("addresses: %q, want 1 or 0", v))
		return
	}
	ps, ok := a.d.Swarms.Peers(swarm, addrs)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("swarm %q has no peers on this node", swarm))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"swarm": swarm, "peers": ps})
}

type policyList struct {
	Revision uint64   `json:"revision,omitempty"`
	Policies []Policy `json:"policies"`
}

func (a *API) listPolicies(w http.ResponseWriter, _ *http.Request) {
	p := a.d.Policies
	if p == nil {
		notImplemented(w, "policies")
		return
	}
	writeJSON(w, http.StatusOK, policyList{Revision: p.Revision(), Policies: p.List()})
}

func (a *API) replacePolicies(w http.ResponseWriter, r *http.Request) {
	p := a.d.Policies
	if p == nil {
		notImplemented(w, "policies")
		return
	}
	var body policyList
	if !readJSON(w, r, &body) {
		return
	}
	if body.Policies == nil {
		writeError(w, http.StatusBadRequest, "bad_request", `body: "policies" (a list, [] for none) is required`)
		return
	}
	if err := p.Replace("policies", body.Policies); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_policy", err.Error())
		return
	}
	a.d.Log.Info("policies replaced through the API", "count", len(body.Policies), "revision", p.Revision())
	a.listPolicies(w, r)
}

func (a *API) getPolicy(w http.ResponseWriter, r *http.Request) {
	p := a.d.Policies
	if p == nil {
		notImplemented(w, "policies")
		return
	}
	name := r.PathValue("name")
	for _, x := range p.List() {
		if x.Name == name {
			writeJSON(w, http.StatusOK, x)
			return
		}
	}
	writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no policy named %q", name))
}

// putPolicy replaces the policy of that name where it stands, or appends
// it (after every other: first match wins) when there is none.
func (a *API) putPolicy(w http.ResponseWriter, r *http.Request) {
	p := a.d.Policies
	if p == nil {
		notImplemented(w, "policies")
		return
	}
	name := r.PathValue("name")
	var body Policy
	if !readJSON(w, r, &body) {
		return
	}
	if body.Name == "" {
		body.Name = name
	}
	if body.Name != name {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("name: %q in the body, %q in the path", body.Name, name))
		return
	}
	created := true
	err := p.Update("policies", func(ps []Policy) ([]Policy, error) {
		for i := range ps {
			if ps[i].Name == name {
				ps[i] = body
				created = false
				return ps, nil
			}
		}
		return append(ps, body), nil
	})
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_policy", err.Error())
		return
	}
	a.d.Log.Info("policy changed through the API", "name", name, "created", created, "revision", p.Revision())
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, body)
}

func (a *API) deletePolicy(w http.ResponseWriter, r *http.Request) {
	p := a.d.Policies
	if p == nil {
		notImplemented(w, "policies")
		return
	}
	name := r.PathValue("name")
	errMissing := errors.New("missing")
	err := p.Update("policies", func(ps []Policy) ([]Policy, error) {
		for i := range ps {
			if ps[i].Name == name {
				return append(ps[:i], ps[i+1:]...), nil
			}
		}
		return nil, errMissing
	})
	if errors.Is(err, errMissing) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no policy named %q", name))
		return
	}
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_policy", err.Error())
		return
	}
	a.d.Log.Info("policy deleted through the API", "name", name, "revision", p.Revision())
	w.WriteHeader(http.StatusNoContent)
}

// PurgeRequest is the body of POST /api/v1/purge: exactly one of Key and
// Prefix, a cache key (the request path, with the query string the cache
// keeps) or its beginning.
type PurgeRequest struct {
	Key    string `json:"key,omitempty"`
	Prefix string `json:"prefix,omitempty"`
}

// Validate checks the request; messages name the field.
func (p *PurgeRequest) Validate() error {
	switch {
	case (p.Key == "") == (p.Prefix == ""):
		return errors.New("body: set exactly one of key and prefix")
	case p.Key != "" && !strings.HasPrefix(p.Key, "/"):
		return fmt.Errorf("key: %q does not start with /", p.Key)
	case p.Prefix != "" && !strings.HasPrefix(p.Prefix, "/"):
		return fmt.Errorf("prefix: %q does not start with / (\"/\" purges everything)", p.Prefix)
	}
	return nil
}

func (a *API) purge(w http.ResponseWriter, r *http.Request) {
	if a.d.Purger == nil {
		notImplemented(w, "purge")
		return
	}
	var body PurgeRequest
	if !readJSON(w, r, &body) {
		return
	}
	if err := body.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	var n int
	if body.Key != "" {
		n = a.d.Purger.Purge(body.Key, false)
	} else {
		n = a.d.Purger.Purge(body.Prefix, true)
	}
	a.d.Log.Info("purged through the API", "key", body.Key, "prefix", body.Prefix, "objects", n)
	writeJSON(w, http.StatusOK, map[string]int{"purged": n})
}

func (a *API) reload(w http.ResponseWriter, _ *http.Request) {
	if a.d.Reloader == nil {
		notImplemented(w, "reload")
		return
	}
	res, err := a.d.Reloader.Reload()
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid_config", err.Error())
		return
	}
	if res.Applied == nil {
		res.Applied = []string{}
	}
	if res.RestartRequired == nil {
		res.RestartRequired = []string{}
	}
	writeJSON(w, http.StatusOK, res)
}

// DecodePolicies parses the JSON body of PUT /api/v1/policies strictly
// (unknown fields, trailing data and more than MaxBodySize are errors)
// and validates it. It is what the API does with the bytes it receives.
func DecodePolicies(b []byte) ([]Policy, error) {
	if len(b) > MaxBodySize {
		return nil, fmt.Errorf("body: more than %d bytes", MaxBodySize)
	}
	var body policyList
	if err := decodeStrict(bytes.NewReader(b), &body); err != nil {
		return nil, err
	}
	if body.Policies == nil {
		return nil, errors.New(`body: "policies" (a list, [] for none) is required`)
	}
	if err := ValidatePolicies("policies", body.Policies); err != nil {
		return nil, err
	}
	return body.Policies, nil
}

func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("body: data after the JSON value")
	}
	return nil
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type: want application/json")
		return false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body: more than %d bytes", MaxBodySize))
		return false
	}
	if err := decodeStrict(bytes.NewReader(b), v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return false
	}
	return true
}

type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: code, Message: msg})
}

func notImplemented(w http.ResponseWriter, what string) {
	writeError(w, http.StatusNotImplemented, "not_implemented", what+" is not available on this node")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal","message":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
