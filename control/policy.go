package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/edgeswarm/edgeswarm/units"
	"github.com/edgeswarm/edgeswarm/wire"
)

// Policy is one rule of the node's delivery policy, in the YAML file
// (under "policies") and in the API. It applies to the swarms (content
// keys of media playlists) it matches: by Prefix or by Regex, exactly one
// of them. Unset fields keep the default behaviour.
type Policy struct {
	// Name identifies the policy in the API, 1..64 of [A-Za-z0-9_.-],
	// unique.
	Name string `yaml:"name" json:"name"`
	// Prefix matches content keys that start with it.
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	// Regex matches content keys it finds a match in (RE2 syntax).
	Regex string `yaml:"regex,omitempty" json:"regex,omitempty"`
	// P2P, when false, stops segment exchange between viewers (the
	// super-peer may still push to them). Default true.
	P2P *bool `yaml:"p2p,omitempty" json:"p2p,omitempty"`
	// Upload says which platforms serve segments to other viewers.
	// Default: desktop true, mobile false (mobile viewers download only,
	// unless their join asked to upload: see DecideViewer).
	Upload Upload `yaml:"upload,omitempty" json:"upload,omitzero"`
	// MaxPeers bounds each viewer's peer connections, 0..64 (0: the
	// node's signal default).
	MaxPeers int `yaml:"max_peers,omitempty" json:"max_peers,omitempty"`
	// MaxUploadRate bounds each viewer's upload, per second (0: none).
	MaxUploadRate units.ByteSize `yaml:"max_upload_rate,omitempty" json:"max_upload_rate,omitempty"`
	// PushFraction, 0..1, is the share of a swarm's viewers the
	// super-peer pushes each new live segment to (at least one while it
	// is above 0). Unset: the super-peer's own rule (seeder.push_k).
	PushFraction *float64 `yaml:"push_fraction,omitempty" json:"push_fraction,omitempty"`
	// CriticalWindow is how much buffer, from the playhead, viewers always
	// fill over HTTP, 0..10m. Unset: the node's default (8s).
	CriticalWindow *Duration `yaml:"critical_window,omitempty" json:"critical_window,omitempty"`
	// HTTPOnly makes every viewer of the stream play over HTTP only.
	HTTPOnly bool `yaml:"http_only,omitempty" json:"http_only,omitempty"`
	// Holdback, 0..1, is the share of joins chosen at random to play
	// HTTP-only as a control group. Default 0.
	Holdback float64 `yaml:"holdback,omitempty" json:"holdback,omitempty"`
}

// Upload says, per platform, whether viewers upload.
type Upload struct {
	Desktop *bool `yaml:"desktop,omitempty" json:"desktop,omitempty"`
	Mobile  *bool `yaml:"mobile,omitempty" json:"mobile,omitempty"`
}

// Duration is a time.Duration written as "8s" in YAML and JSON.
type Duration time.Duration

// MarshalText writes d as Go's duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads Go's duration text, e.g. 8s or 1m30s.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration, e.g. 8s", b)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML reads a scalar as UnmarshalText does.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a duration is a scalar, e.g. 8s", n.Line)
	}
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	return nil
}

// MarshalYAML writes d as its text.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MaxPolicies bounds the policies of a node.
const MaxPolicies = 256

// ValidatePolicies checks a list of policies; key names the list in
// messages ("policies" in the file, "body" in the API), and every message
// names the entry's key, e.g. policies[2].holdback.
func ValidatePolicies(key string, ps []Policy) error {
	_, err := compile(key, ps)
	return err
}

type compiled struct {
	Policy
	re *regexp.Regexp
}

func compile(key string, ps []Policy) ([]compiled, error) {
	if len(ps) > MaxPolicies {
		return nil, fmt.Errorf("%s: %d policies, at most %d", key, len(ps), MaxPolicies)
	}
	out := make([]compiled, len(ps))
	names := make(map[string]bool, len(ps))
	for i, p := range ps {
		k := fmt.Sprintf("%s[%d]", key, i)
		if err := validName(p.Name); err != nil {
			return nil, fmt.Errorf("%s.name: %v", k, err)
		}
		if names[p.Name] {
			return nil, fmt.Errorf("%s.name: %q is used by an earlier policy", k, p.Name)
		}
		names[p.Name] = true
		c := compiled{Policy: p}
		switch {
		case (p.Prefix == "") == (p.Regex == ""):
			return nil, fmt.Errorf("%s: set exactly one of prefix and regex", k)
		case p.Regex != "":
			re, err := regexp.Compile(p.Regex)
			if err != nil {
				return nil, fmt.Errorf("%s.regex: %v", k, err)
			}
			c.re = re
		}
		switch {
		case p.MaxPeers < 0 || p.MaxPeers > 64:
			return nil, fmt.Errorf("%s.max_peers: %d, allowed 0..64", k, p.MaxPeers)
		case p.MaxUploadRate < 0:
			return nil, fmt.Errorf("%s.max_upload_rate: must not be negative", k)
		case p.PushFraction != nil && !(*p.PushFraction >= 0 && *p.PushFraction <= 1):
			return nil, fmt.Errorf("%s.push_fraction: %v, allowed 0..1", k, *p.PushFraction)
		case p.CriticalWindow != nil && (*p.CriticalWindow < 0 || time.Duration(*p.CriticalWindow) > 10*time.Minute):
			return nil, fmt.Errorf("%s.critical_window: %v, allowed 0s..10m", k, time.Duration(*p.CriticalWindow))
		case !(p.Holdback >= 0 && p.Holdback <= 1):
			return nil, fmt.Errorf("%s.holdback: %v, allowed 0..1", k, p.Holdback)
		}
		out[i] = c
	}
	return out, nil
}

func validName(s string) error {
	if s == "" || len(s) > 64 {
		return errors.New("1..64 characters required")
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("%q: only [A-Za-z0-9_.-]", s)
		}
	}
	return nil
}

func (c *compiled) matches(key string) bool {
	if c.re != nil {
		return c.re.MatchString(key)
	}
	return strings.HasPrefix(key, c.Prefix)
}

// Decision is what the policies say for one viewer.
type Decision struct {
	// Policy is the message for the viewer, revision set. Holdback is for
	// the tracker to decide at the join (see HoldbackFraction).
	Policy wire.Policy
	// HoldbackFraction is the share of joins to hold back.
	HoldbackFraction float64
	// Matched names the policy that matched ("" for none).
	Matched string
}

// Policies is the node's live policy set. It is safe for concurrent use.
type Policies struct {
	mu       sync.RWMutex
	list     []compiled
	revision uint64
	onChange []func()
}

// NewPolicies validates ps (key names them in errors) and returns the set.
func NewPolicies(key string, ps []Policy) (*Policies, error) {
	c, err := compile(key, ps)
	if err != nil {
		return nil, err
	}
	return &Policies{list: c, revision: 1}, nil
}

// OnChange registers f, called after every successful change (outside the
// set's lock, in the changing goroutine).
func (p *Policies) OnChange(f func()) {
	p.mu.Lock()
	p.onChange = append(p.onChange, f)
	p.mu.Unlock()
}

// List returns a copy of the policies in order.
func (p *Policies) List() []Policy {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]Policy, len(p.list))
	for i, c := range p.list {
		out[i] = c.Policy
	}
	return out
}

// Revision is the revision of the set, raised by every change.
func (p *Policies) Revision() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.revision
}

// Replace swaps the whole set for ps, or changes nothing and returns the
// error naming the entry (key names the list).
func (p *Policies) Replace(key string, ps []Policy) error {
	c, err := compile(key, ps)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.list = c
	p.revision++
	fs := p.onChange
	p.mu.Unlock()
	for _, f := range fs {
		f()
	}
	return nil
}

// Update applies edit to a copy of the list and replaces the set with the
// result atomically (two concurrent updates do not lose either).
func (p *Policies) Update(key string, edit func([]Policy) ([]Policy, error)) error {
	p.mu.Lock()
	cur := make([]Policy, len(p.list))
	for i, c := range p.list {
		cur[i] = c.Policy
	}
	next, err := edit(cur)
	if err == nil {
		var c []compiled
		if c, err = compile(key, next); err == nil {
			p.list = c
			p.revision++
		}
	}
	fs := p.onChange
	p.mu.Unlock()
	if err != nil {
		return err
	}
	for _, f := range fs {
		f()
	}
	return nil
}

// Same reports whether ps is the list in force (a reload that does not
// touch the policies keeps their revision).
func (p *Policies) Same(ps []Policy) bool {
	a, _ := json.Marshal(p.List())
	b, _ := json.Marshal(ps)
	if len(ps) == 0 {
		b = []byte("[]")
	}
	return bytes.Equal(a, b)
}

// Decide resolves the policies for a viewer of swarm: the first policy
// that matches, else the defaults (P2P on, desktop uploads, mobile
// downloads only).
func (p *Policies) Decide(swarm string, mobile bool) Decision {
	return p.DecideViewer(swarm, mobile, false)
}

// DecideViewer is Decide for a viewer that says whether its page asked it
// to upload (the join's caps.upload): a mobile viewer that asked is not
// made download-only by the default, only by a policy that says so.
func (p *Policies) DecideViewer(swarm string, mobile, asked bool) Decision {
	p.mu.RLock()
	defer p.mu.RUnlock()
	d := Decision{Policy: wire.Policy{Revision: p.revision, UploadOff: mobile && !asked}}
	for i := range p.list {
		c := &p.list[i]
		if !c.matches(swarm) {
			continue
		}
		d.Matched = c.Name
		w := &d.Policy
		w.P2POff = c.P2P != nil && !*c.P2P
		w.HTTPOnly = c.HTTPOnly
		up := c.Upload.Desktop
		if mobile {
			up = c.Upload.Mobile
		}
		if up != nil {
			w.UploadOff = !*up
		}
		w.MaxPeers = c.MaxPeers
		w.MaxUploadBps = uint64(c.MaxUploadRate)
		if c.CriticalWindow != nil {
			ms := int(time.Duration(*c.CriticalWindow) / time.Millisecond)
			w.CriticalMs = &ms
		}
		d.HoldbackFraction = c.Holdback
		break
	}
	return d
}

// PushFraction is the share of a swarm's viewers the super-peer pushes to,
// when a policy sets it (ok false: the super-peer's own rule).
func (p *Policies) PushFraction(swarm string) (f float64, ok bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for i := range p.list {
		c := &p.list[i]
		if c.matches(swarm) {
			if c.PushFraction == nil || math.IsNaN(*c.PushFraction) {
				return 0, false
			}
			return *c.PushFraction, true
		}
	}
	return 0, false
}
