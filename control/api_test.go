package control

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

type fakeSwarms struct{}

func (fakeSwarms) Swarms() []SwarmInfo {
	return []SwarmInfo{{Swarm: "/live/720p.m3u8", Viewers: 2, SuperPeers: 1}}
}

func (fakeSwarms) Peers(swarm string, addrs bool) ([]PeerInfo, bool) {
	if swarm != "/live/720p.m3u8" {
		return nil, false
	}
	p := PeerInfo{ID: "p1", Platform: "mobile", Group: "p2p", Bytes: Bytes{HTTP: 10, P2P: 20}}
	if addrs {
		p.Address = "127.0.0.1"
	}
	return []PeerInfo{p}, true
}

const token = "0123456789abcdef-test"

type rig struct {
	srv    *httptest.Server
	pol    *Policies
	purged []string
	reload func() (ReloadResult, error)
	mu     sync.Mutex
}

func newRig(t *testing.T) *rig {
	t.Helper()
	pol, err := NewPolicies("policies", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{pol: pol}
	api := New(Deps{
		Policies: pol,
		Swarms:   fakeSwarms{},
		Purger: PurgerFunc(func(key string, prefix bool) int {
			r.mu.Lock()
			defer r.mu.Unlock()
			if prefix {
				key += "*"
			}
			r.purged = append(r.purged, key)
			return 3
		}),
		Reloader: ReloaderFunc(func() (ReloadResult, error) { return r.reload() }),
	})
	r.srv = httptest.NewServer(RequireToken(NewToken(token), api))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rig) do(t *testing.T, method, path, body string, tok string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: not JSON: %q", method, path, b)
		}
	}
	return resp.StatusCode, m
}

func TestTokenRequired(t *testing.T) {
	r := newRig(t)
	for _, tok := range []string{"", "wrong-token-wrong-token", token + "x"} {
		code, m := r.do(t, "GET", "/api/v1/swarms", "", tok)
		if code != 401 || m["error"] != "unauthorized" {
			t.Errorf("token %q: %d %v", tok, code, m)
		}
	}
	if code, _ := r.do(t, "GET", "/api/v1/swarms", "", token); code != 200 {
		t.Fatalf("with the token: %d", code)
	}
	// No token configured: nobody gets in.
	srv := httptest.NewServer(RequireToken(NewToken(""), New(Deps{})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/swarms", nil)
	req.Header.Set("Authorization", "Bearer ")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("no token configured: %d", resp.StatusCode)
	}
}

func TestSwarmsAndPeersHideAddressesUnlessAsked(t *testing.T) {
	r := newRig(t)
	code, m := r.do(t, "GET", "/api/v1/swarms", "", token)
	if code != 200 || len(m["swarms"].([]any)) != 1 {
		t.Fatalf("%d %v", code, m)
	}
	code, m = r.do(t, "GET", "/api/v1/peers?swarm=/live/720p.m3u8", "", token)
	p := m["peers"].([]any)[0].(map[string]any)
	if code != 200 || p["id"] != "p1" || p["platform"] != "mobile" || p["address"] != nil {
		t.Fatalf("%d %v", code, m)
	}
	_, m = r.do(t, "GET", "/api/v1/peers?swarm=/live/720p.m3u8&addresses=1", "", token)
	if m["peers"].([]any)[0].(map[string]any)["address"] != "127.0.0.1" {
		t.Fatalf("%v", m)
	}
	if code, _ := r.do(t, "GET", "/api/v1/peers?swarm=/nope.m3u8", "", token); code != 404 {
		t.Fatalf("unknown swarm: %d", code)
	}
	if code, _ := r.do(t, "GET", "/api/v1/peers", "", token); code != 400 {
		t.Fatalf("no swarm: %d", code)
	}
}

func TestPoliciesListReplaceChangeDelete(t *testing.T) {
	r := newRig(t)
	code, m := r.do(t, "PUT", "/api/v1/policies", `{"policies":[{"name":"off","prefix":"/live/","p2p":false}]}`, token)
	if code != 200 || m["revision"].(float64) != 2 {
		t.Fatalf("replace: %d %v", code, m)
	}
	if d := r.pol.Decide("/live/720p.m3u8", false); !d.Policy.P2POff {
		t.Fatalf("not applied: %+v", d)
	}
	code, m = r.do(t, "PUT", "/api/v1/policies", `{"policies":[{"name":"x","prefix":"/","holdback":2}]}`, token)
	if code != 422 || !strings.Contains(m["message"].(string), "policies[0].holdback") {
		t.Fatalf("bad policy: %d %v", code, m)
	}
	if len(r.pol.List()) != 1 || r.pol.List()[0].Name != "off" {
		t.Fatal("a rejected replace changed the policies")
	}
	code, _ = r.do(t, "PUT", "/api/v1/policies", `{"policies":[],"extra":1}`, token)
	if code != 400 {
		t.Fatalf("unknown field: %d", code)
	}
	code, _ = r.do(t, "PUT", "/api/v1/policies/hd", `{"regex":"1080p","max_peers":2}`, token)
	if code != 201 {
		t.Fatalf("create: %d", code)
	}
	code, _ = r.do(t, "PUT", "/api/v1/policies/off", `{"name":"off","prefix":"/live/","p2p":true}`, token)
	if code != 200 {
		t.Fatalf("change: %d", code)
	}
	_, m = r.do(t, "GET", "/api/v1/policies", "", token)
	list := m["policies"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["name"] != "off" || list[0].(map[string]any)["p2p"] != true || list[1].(map[string]any)["name"] != "hd" {
		t.Fatalf("list: %v", m)
	}
	if code, _ := r.do(t, "PUT", "/api/v1/policies/a", `{"name":"b","prefix":"/"}`, token); code != 400 {
		t.Fatalf("name mismatch: %d", code)
	}
	if code, _ := r.do(t, "DELETE", "/api/v1/policies/off", "", token); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := r.do(t, "DELETE", "/api/v1/policies/off", "", token); code != 404 {
		t.Fatalf("delete again: %d", code)
	}
	if code, m := r.do(t, "GET", "/api/v1/policies/hd", "", token); code != 200 || m["max_peers"].(float64) != 2 {
		t.Fatalf("get: %d %v", code, m)
	}
}

func TestPurge(t *testing.T) {
	r := newRig(t)
	code, m := r.do(t, "POST", "/api/v1/purge", `{"key":"/live/720p/5.ts"}`, token)
	if code != 200 || m["purged"].(float64) != 3 {
		t.Fatalf("%d %v", code, m)
	}
	r.do(t, "POST", "/api/v1/purge", `{"prefix":"/vod/"}`, token)
	for _, body := range []string{`{}`, `{"key":"/a","prefix":"/b"}`, `{"key":"a.ts"}`, `not json`} {
		if code, _ := r.do(t, "POST", "/api/v1/purge", body, token); code != 400 {
			t.Errorf("%s: %d", body, code)
		}
	}
	if strings.Join(r.purged, ",") != "/live/720p/5.ts,/vod/*" {
		t.Fatalf("purged %v", r.purged)
	}
}

func TestReloadAnswers(t *testing.T) {
	r := newRig(t)
	r.reload = func() (ReloadResult, error) {
		return ReloadResult{Applied: []string{"cors"}, RestartRequired: []string{"listen"}}, nil
	}
	code, m := r.do(t, "POST", "/api/v1/reload", "", token)
	if code != 200 || m["applied"].([]any)[0] != "cors" || m["restart_required"].([]any)[0] != "listen" {
		t.Fatalf("%d %v", code, m)
	}
	r.reload = func() (ReloadResult, error) { return ReloadResult{}, errors.New("stale_grace: must not be negative") }
	code, m = r.do(t, "POST", "/api/v1/reload", "", token)
	if code != 422 || m["message"] != "stale_grace: must not be negative" {
		t.Fatalf("%d %v", code, m)
	}
}

func TestUnknownEndpoint(t *testing.T) {
	r := newRig(t)
	if code, m := r.do(t, "GET", "/api/v1/nothing", "", token); code != 404 || m["error"] != "not_found" {
		t.Fatalf("%d %v", code, m)
	}
}
