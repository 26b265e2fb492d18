package control

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func ptr[T any](v T) *T { return &v }

func TestDecideFirstMatchWinsAndDefaults(t *testing.T) {
	ps, err := NewPolicies("policies", []Policy{
		{Name: "sports-off", Prefix: "/live/sports/", P2P: ptr(false)},
		{Name: "hd", Regex: `/1080p\.m3u8$`, MaxPeers: 3, MaxUploadRate: 250000, CriticalWindow: ptr(Duration(12 * time.Second)), Upload: Upload{Mobile: ptr(true)}, Holdback: 0.1},
		{Name: "all-live", Prefix: "/live/", HTTPOnly: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		swarm            string
		mobile           bool
		matched          string
		p2pOff, httpOnly bool
		uploadOff        bool
		maxPeers         int
		critical         *int
		holdback         float64
	}{
		{swarm: "/vod/film/720p.m3u8", matched: ""},
		{swarm: "/vod/film/720p.m3u8", mobile: true, matched: "", uploadOff: true},
		{swarm: "/live/sports/1080p.m3u8", matched: "sports-off", p2pOff: true},
		{swarm: "/live/sports/1080p.m3u8", mobile: true, matched: "sports-off", p2pOff: true, uploadOff: true},
		{swarm: "/live/news/1080p.m3u8", mobile: true, matched: "hd", maxPeers: 3, critical: ptr(12000), holdback: 0.1},
		{swarm: "/live/news/720p.m3u8", matched: "all-live", httpOnly: true},
	}
	for _, c := range cases {
		t.Run(c.swarm, func(t *testing.T) {
			d := ps.Decide(c.swarm, c.mobile)
			w := d.Policy
			if d.Matched != c.matched || w.P2POff != c.p2pOff || w.HTTPOnly != c.httpOnly || w.UploadOff != c.uploadOff || w.MaxPeers != c.maxPeers || d.HoldbackFraction != c.holdback {
				t.Fatalf("mobile=%v: got %+v (matched %q, holdback %v)", c.mobile, w, d.Matched, d.HoldbackFraction)
			}
			if (w.CriticalMs == nil) != (c.critical == nil) || (w.CriticalMs != nil && *w.CriticalMs != *c.critical) {
				t.Fatalf("critical_ms %v, want %v", w.CriticalMs, c.critical)
			}
			if w.Revision != 1 {
				t.Fatalf("revision %d", w.Revision)
			}
		})
	}
	if d := ps.Decide("/live/news/1080p.m3u8", false); d.Policy.MaxUploadBps != 250000 {
		t.Fatalf("max_upload_bps %d", d.Policy.MaxUploadBps)
	}
}

// A mobile viewer whose page asked it to upload (caps.upload) is spared the
// download-only default, not a policy's upload.mobile: false.
func TestDecideViewerMobileThatAskedToUpload(t *testing.T) {
	ps, err := NewPolicies("policies", []Policy{
		{Name: "no-mobile-upload", Prefix: "/live/sports/", Upload: Upload{Mobile: ptr(false)}},
		{Name: "limits", Prefix: "/live/", MaxPeers: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		swarm         string
		mobile, asked bool
		uploadOff     bool
	}{
		{"/vod/a.m3u8", true, false, true},
		{"/vod/a.m3u8", true, true, false},
		{"/live/news/a.m3u8", true, true, false}, // a policy that says nothing of upload
		{"/live/news/a.m3u8", true, false, true},
		{"/live/sports/a.m3u8", true, true, true}, // the policy's word wins
		{"/vod/a.m3u8", false, false, false},
	} {
		if d := ps.DecideViewer(c.swarm, c.mobile, c.asked); d.Policy.UploadOff != c.uploadOff {
			t.Errorf("%s mobile=%v asked=%v: upload_off %v, want %v", c.swarm, c.mobile, c.asked, d.Policy.UploadOff, c.uploadOff)
		}
	}
}

func TestPolicyErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		p    Policy
		want string
	}{
		{Policy{Prefix: "/a"}, "policies[0].name"},
		{Policy{Name: "x"}, "policies[0]: set exactly one of prefix and regex"},
		{Policy{Name: "x", Prefix: "/a", Regex: "b"}, "policies[0]: set exactly one"},
		{Policy{Name: "x", Regex: "(("}, "policies[0].regex"},
		{Policy{Name: "x", Prefix: "/", MaxPeers: 65}, "policies[0].max_peers"},
		{Policy{Name: "x", Prefix: "/", Holdback: 1.5}, "policies[0].holdback"},
		{Policy{Name: "x", Prefix: "/", PushFraction: ptr(-0.1)}, "policies[0].push_fraction"},
		{Policy{Name: "x", Prefix: "/", CriticalWindow: ptr(Duration(11 * time.Minute))}, "policies[0].critical_window"},
		{Policy{Name: "bad name", Prefix: "/"}, "policies[0].name"},
	}
	for _, c := range cases {
		err := ValidatePolicies("policies", []Policy{c.p})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.p, err, c.want)
		}
	}
	if err := ValidatePolicies("policies", []Policy{{Name: "a", Prefix: "/"}, {Name: "a", Prefix: "/b"}}); err == nil || !strings.Contains(err.Error(), "policies[1].name") {
		t.Errorf("duplicate name: %v", err)
	}
}

func TestPoliciesFromYAML(t *testing.T) {
	doc := `
- name: sports
  prefix: /live/sports/
  p2p: false
  upload: {desktop: true, mobile: true}
  max_upload_rate: 2MiB
  critical_window: 6s
  holdback: 0.05
  push_fraction: 0.1
`
	var ps []Policy
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&ps); err != nil {
		t.Fatal(err)
	}
	set, err := NewPolicies("policies", ps)
	if err != nil {
		t.Fatal(err)
	}
	d := set.Decide("/live/sports/a.m3u8", true)
	if !d.Policy.P2POff || d.Policy.UploadOff || d.Policy.MaxUploadBps != 2<<20 || *d.Policy.CriticalMs != 6000 || d.HoldbackFraction != 0.05 {
		t.Fatalf("%+v %v", d.Policy, d.HoldbackFraction)
	}
	if f, ok := set.PushFraction("/live/sports/a.m3u8"); !ok || f != 0.1 {
		t.Fatalf("push fraction %v %v", f, ok)
	}
	if _, ok := set.PushFraction("/vod/a.m3u8"); ok {
		t.Fatal("push fraction for an unmatched swarm")
	}
	var bad []Policy
	err = yaml.Unmarshal([]byte("- name: x\n  prefix: /\n  critical_window: 5q\n"), &bad)
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("bad duration: %v", err)
	}
}

func TestChangesRaiseTheRevisionAndNotify(t *testing.T) {
	ps, err := NewPolicies("policies", nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	ps.OnChange(func() { calls++ })
	if err := ps.Replace("policies", []Policy{{Name: "a", Prefix: "/"}}); err != nil {
		t.Fatal(err)
	}
	if err := ps.Replace("policies", []Policy{{Name: "", Prefix: "/"}}); err == nil {
		t.Fatal("a bad list was accepted")
	}
	if calls != 1 || ps.Revision() != 2 || len(ps.List()) != 1 {
		t.Fatalf("calls %d revision %d list %v", calls, ps.Revision(), ps.List())
	}
	if d := ps.Decide("/x.m3u8", false); d.Policy.Revision != 2 || d.Matched != "a" {
		t.Fatalf("%+v", d)
	}
	if !ps.Same([]Policy{{Name: "a", Prefix: "/"}}) || ps.Same(nil) {
		t.Fatal("Same")
	}
}
