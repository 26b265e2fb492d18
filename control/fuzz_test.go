package control

import (
	"strings"
	"testing"
)

// FuzzDecodePolicies: the API's policy body parser never panics, and what
// it accepts builds a policy set that decides for any key.
func FuzzDecodePolicies(f *testing.F) {
	for _, s := range []string{
		`{"policies":[]}`,
		`{"policies":[{"name":"off","prefix":"/live/","p2p":false}]}`,
		`{"policies":[{"name":"hd","regex":"1080p\\.m3u8$","max_peers":3,"max_upload_rate":"2MiB","critical_window":"6s","upload":{"mobile":true},"holdback":0.1,"push_fraction":0.5,"http_only":true}]}`,
		`{"policies":[{"name":"x","regex":"(("}]}`,
		`{"policies":null}`,
		`{"policies":[{"name":"a","prefix":"/"}]} trailing`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := DecodePolicies(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "body") && !strings.HasPrefix(err.Error(), "policies") {
				t.Fatalf("error does not name the key: %v", err)
			}
			return
		}
		set, err := NewPolicies("policies", ps)
		if err != nil {
			t.Fatalf("accepted policies do not build: %v", err)
		}
		for _, k := range []string{"/live/1080p.m3u8", "/", "/vod/a/b.m3u8"} {
			d := set.Decide(k, true)
			if d.HoldbackFraction < 0 || d.HoldbackFraction > 1 || d.Policy.MaxPeers < 0 || d.Policy.MaxPeers > 64 {
				t.Fatalf("decision out of range: %+v", d)
			}
		}
	})
}
