//go:build linux

package netem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// NAT is how a home's router maps its viewers' addresses.
type NAT string

const (
	// Cone is endpoint-independent mapping (RFC 4787): one external port
	// per internal address and port, whatever the destination (nftables
	// masquerade, which keeps the source port when it is free). Filtering
	// is address-and-port-dependent, as Linux conntrack does: a "port
	// restricted cone".
	Cone NAT = "cone"
	// Symmetric is address-and-port-dependent mapping: a new random
	// external port for every destination (masquerade fully-random).
	Symmetric NAT = "symmetric"
)

// Link shapes one direction of a home's access link.
type Link struct {
	Delay  time.Duration `yaml:"delay" json:"delay"`   // one-way delay added to every packet
	Jitter time.Duration `yaml:"jitter" json:"jitter"` // up to this much more or less, uniformly (order is kept)
	Loss   float64       `yaml:"loss" json:"loss"`     // probability that a packet is dropped, 0 to 1
	Rate   int64         `yaml:"rate" json:"rate"`     // bits per second (tc tbf); 0: not capped
	// Queue is how long a packet may wait behind the rate cap before it
	// is dropped (tbf latency); default 100 ms.
	Queue time.Duration `yaml:"queue" json:"queue"`
}

// Home is one home's configuration.
type Home struct {
	NAT  NAT  `yaml:"nat" json:"nat"`
	Up   Link `yaml:"up" json:"up"`     // home to wan
	Down Link `yaml:"down" json:"down"` // wan to home
}

// Config is the emulated internet: its homes, in order.
type Config struct {
	Homes []Home `yaml:"homes" json:"homes"`
	// Seed makes the loss and jitter of every link reproducible (home i
	// direction d uses Seed+2i+d); 0 picks one from the clock.
	Seed int64 `yaml:"seed" json:"seed"`
}

// MaxHomes is how many homes fit in the address plan (192.168.i.0/24).
const MaxHomes = 250

// Validate reports the first bad key.
func (c Config) Validate() error {
	if len(c.Homes) == 0 || len(c.Homes) > MaxHomes {
		return fmt.Errorf("homes: want 1 to %d homes, got %d", MaxHomes, len(c.Homes))
	}
	for i, h := range c.Homes {
		if h.NAT != Cone && h.NAT != Symmetric {
			return fmt.Errorf("homes[%d].nat: %q is not cone or symmetric", i, h.NAT)
		}
		for _, d := range []struct {
			name string
			l    Link
		}{{"up", h.Up}, {"down", h.Down}} {
			k := fmt.Sprintf("homes[%d].%s", i, d.name)
			switch {
			case d.l.Delay < 0 || d.l.Jitter < 0 || d.l.Queue < 0:
				return fmt.Errorf("%s: delay, jitter and queue must not be negative", k)
			case d.l.Jitter > d.l.Delay:
				return fmt.Errorf("%s.jitter: %v is more than the delay %v", k, d.l.Jitter, d.l.Delay)
			case d.l.Loss < 0 || d.l.Loss > 1:
				return fmt.Errorf("%s.loss: %v is not between 0 and 1", k, d.l.Loss)
			case d.l.Rate < 0 || (d.l.Rate > 0 && d.l.Rate < 8000):
				return fmt.Errorf("%s.rate: %d bit/s: want 0 (no cap) or at least 8000", k, d.l.Rate)
			}
		}
	}
	return nil
}

// wanAddr is the node's address on the wan bridge, in the namespace that
// called New (a constant of the address plan).
var wanAddr = netip.MustParseAddr("10.0.0.1")

// Net is a running emulated internet. Close tears it down.
type Net struct {
	log   *slog.Logger
	homes []*HomeNet
	procs []*exec.Cmd
	lines []*delayLine
	files []*os.File
	// bridge is whether the wan bridge was made, veths the wan ends of
	// the routers' veths made so far.
	bridge bool
	veths  []string

	closeOnce sync.Once
	closeErr  error
}

// HomeNet is one running home.
type HomeNet struct {
	Index  int
	Config Home
	// Addr is the viewers' address on the home's LAN (192.168.i.2).
	Addr netip.Addr
	// Public is the router's address on the wan: what the node and other
	// homes see as the home's source address.
	Public netip.Addr

	lanPID, routerPID int
	up, down          *delayLine
}

// WANAddr is the address of the wan bridge in the calling namespace: the
// node listens there (or on the wildcard) and viewers reach it there.
func (n *Net) WANAddr() netip.Addr { return wanAddr }

// Homes lists the homes in the order of Config.Homes.
func (n *Net) Homes() []*HomeNet { return n.homes }

// NetNS is the path of the home LAN's network namespace, for nsenter
// --net= or setns.
func (h *HomeNet) NetNS() string { return nsPath(h.lanPID) }

// RouterNetNS is the path of the home router's network namespace.
func (h *HomeNet) RouterNetNS() string { return nsPath(h.routerPID) }

// Command is exec.CommandContext for a command that runs in the home's
// LAN (through nsenter, in this process's other namespaces).
func (h *HomeNet) Command(ctx context.Context, name string, arg ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + h.NetNS(), "--", name}, arg...)...)
}

// Dropped is how many packets the delay line dropped for loss, up and
// down.
func (h *HomeNet) Dropped() (up, down uint64) {
	return h.up.dropped.Load(), h.down.dropped.Load()
}

func nsPath(pid int) string { return "/proc/" + strconv.Itoa(pid) + "/ns/net" }

// New builds the emulated internet of cfg around the calling process's
// network namespace, which must be private and have only loopback up.
// The context bounds the setup only; Close tears everything down.
func New(ctx context.Context, cfg Config, log *slog.Logger) (n *Net, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := RequirePrivate(); err != nil {
		return nil, err
	}
	for _, tool := range []string{"ip", "tc", "nft", "nsenter", "sleep"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("netem: %s is missing (Debian: iproute2, nftables, util-linux, coreutils)", tool)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n = &Net{log: log}
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()
	seed := cfg.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	self := os.Getpid()
	if err := batch(ctx, nil,
		"link add wan type bridge",
		"addr add "+wanAddr.String()+"/16 dev wan",
		"link set wan up"); err != nil {
		return nil, err
	}
	n.bridge = true
	for i, hc := range cfg.Homes {
		h := &HomeNet{Index: i, Config: hc, Addr: lanAddr(i, 2), Public: publicAddr(i)}
		if h.lanPID, err = n.hold(); err != nil {
			return nil, err
		}
		if h.routerPID, err = n.hold(); err != nil {
			return nil, err
		}
		// IPv4 only: no IPv6 router solicitations or duplicate address
		// checks on the links, and viewers gather IPv4 candidates.
		rt, lan := h.routerPID, h.lanPID
		for _, pid := range []*int{&rt, &lan} {
			if err := run(ctx, pid, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6"); err != nil {
				return nil, fmt.Errorf("home %d: %w", i, err)
			}
		}
		// The router: a veth to the wan bridge, forwarding, the NAT.
		if err := batch(ctx, &rt,
			"link set lo up",
			fmt.Sprintf("link add wan0 type veth peer name r%d netns %d", i, self),
			"addr add "+h.Public.String()+"/16 dev wan0",
			"link set wan0 up",
		); err != nil {
			return nil, fmt.Errorf("home %d router: %w", i, err)
		}
		n.veths = append(n.veths, fmt.Sprintf("r%d", i))
		if err := run(ctx, nil, "ip", "link", "set", fmt.Sprintf("r%d", i), "master", "wan", "up"); err != nil {
			return nil, fmt.Errorf("home %d: %w", i, err)
		}
		if err := run(ctx, &lan, "ip", "link", "set", "lo", "up"); err != nil {
			return nil, fmt.Errorf("home %d lan: %w", i, err)
		}
		// The access link: a TUN device in each namespace, and this
		// process's delay line between them.
		homeTun, err := openTUN(h.NetNS(), "eth0")
		if err != nil {
			return nil, fmt.Errorf("home %d: %w", i, err)
		}
		n.files = append(n.files, homeTun)
		routerTun, err := openTUN(h.RouterNetNS(), "lan0")
		if err != nil {
			return nil, fmt.Errorf("home %d: %w", i, err)
		}
		n.files = append(n.files, routerTun)
		h.up = newDelayLine(homeTun, routerTun, lineShape(hc.Up), seed+int64(2*i), log.With("home", i, "dir", "up"))
		h.down = newDelayLine(routerTun, homeTun, lineShape(hc.Down), seed+int64(2*i+1), log.With("home", i, "dir", "down"))
		n.lines = append(n.lines, h.up, h.down)
		if err := batch(ctx, &lan,
			"addr add "+h.Addr.String()+"/24 dev eth0",
			"link set eth0 txqueuelen 1000 up",
			"route add default dev eth0",
		); err != nil {
			return nil, fmt.Errorf("home %d lan: %w", i, err)
		}
		if err := batch(ctx, &rt,
			"addr add "+lanAddr(i, 1).String()+"/24 dev lan0",
			"link set lan0 txqueuelen 1000 up",
		); err != nil {
			return nil, fmt.Errorf("home %d router: %w", i, err)
		}
		if err := run(ctx, &rt, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"); err != nil {
			return nil, fmt.Errorf("home %d router: forwarding: %w", i, err)
		}
		if err := runStdin(ctx, &rt, nftRules(hc.NAT), "nft", "-f", "-"); err != nil {
			return nil, fmt.Errorf("home %d router: nftables NAT (does the kernel have nf_tables NAT?): %w", i, err)
		}
		for _, s := range []struct {
			dev string
			l   Link
		}{{"wan0", hc.Up}, {"lan0", hc.Down}} {
			if s.l.Rate == 0 {
				continue
			}
			if err := run(ctx, &rt, "tc", append([]string{"qdisc", "add", "dev", s.dev, "root"}, tbfArgs(s.l)...)...); err != nil {
				return nil, fmt.Errorf("home %d router: tc on %s: %w", i, s.dev, err)
			}
		}
		n.homes = append(n.homes, h)
	}
	for _, l := range n.lines {
		l.start()
	}
	log.Info("emulated internet up", "homes", len(n.homes), "wan", wanAddr.String())
	return n, nil
}

// lanAddr is host h of home i's LAN, 192.168.i.h.
func lanAddr(i, h int) netip.Addr { return netip.AddrFrom4([4]byte{192, 168, byte(i), byte(h)}) }

// publicAddr is home i's router on the wan, 10.0.x.y from 10.0.0.2 on.
func publicAddr(i int) netip.Addr {
	a := i + 2
	return netip.AddrFrom4([4]byte{10, 0, byte(a >> 8), byte(a)})
}

// nftRules is the router's ruleset: masquerade out of the wan, with a new
// random port per mapping for the symmetric NAT, and the firewall of a
// home router: from the wan, only what answers a mapping gets in. (Without
// it, a peer's probe to the router would leave a conntrack entry that
// makes the next mapping to that peer take another port.)
func nftRules(nat NAT) string {
	flags := ""
	if nat == Symmetric {
		flags = " fully-random"
	}
	return `table ip nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" masquerade` + flags + `
  }
}
table ip filter {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan0" ct state != { established, related } drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "wan0" ct state != { established, related } drop
  }
}
`
}

// tbfArgs is a token bucket for l: the rate, a burst of at least two
// full-size packets or 5 ms at the rate, and a queue of l.Queue.
func tbfArgs(l Link) []string {
	q := l.Queue
	if q == 0 {
		q = 100 * time.Millisecond
	}
	burst := max(l.Rate/8/200, 2*1514)
	return []string{"tbf", "rate", strconv.FormatInt(l.Rate, 10) + "bit", "burst", strconv.FormatInt(burst, 10),
		"latency", strconv.FormatInt(q.Milliseconds(), 10) + "ms"}
}

// hold starts a process in a new network namespace that lives until Close
// (or until this process dies) and returns its PID.
func (n *Net) hold() (int, error) {
	cmd := exec.Command("sleep", "infinity")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("netem: a process in a new network namespace: %w", err)
	}
	n.procs = append(n.procs, cmd)
	return cmd.Process.Pid, nil
}

// batch runs ip -batch in the namespace of pid (nil: this process's),
// one command a line.
func batch(ctx context.Context, pid *int, lines ...string) error {
	return runStdin(ctx, pid, strings.Join(lines, "\n")+"\n", "ip", "-batch", "-")
}

// run runs a tool in the namespace of pid (nil: this process's).
func run(ctx context.Context, pid *int, name string, args ...string) error {
	return runStdin(ctx, pid, "", name, args...)
}

func runStdin(ctx context.Context, pid *int, stdin, name string, args ...string) error {
	var cmd *exec.Cmd
	if pid == nil {
		cmd = exec.CommandContext(ctx, name, args...)
	} else {
		cmd = exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + nsPath(*pid), "--", name}, args...)...)
	}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Close stops the delay lines and the namespace holders (which takes
// every interface, route and rule of the homes with them) and removes the
// wan bridge.
func (n *Net) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		for _, l := range n.lines {
			l.close()
		}
		for _, f := range n.files {
			_ = f.Close()
		}
		for _, l := range n.lines {
			l.wg.Wait()
		}
		// The veths and the bridge are deleted here, at once: a namespace
		// whose holder is killed goes away later, in the kernel's time.
		var del []string
		for _, v := range n.veths {
			del = append(del, "link del "+v)
		}
		if n.bridge {
			del = append(del, "link del wan")
		}
		if len(del) > 0 {
			if err := batch(context.Background(), nil, del...); err != nil {
				errs = append(errs, err)
			}
		}
		for _, p := range n.procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// RequirePrivate returns an error unless this process is in a network
// namespace that is not the host's and has nothing but loopback up: the
// only place New may build. Not the host's: it differs from PID 1's or,
// where PID 1 cannot be inspected (a sandbox), from an ancestor's (the
// process that created it, e.g. the test binary that re-ran itself with
// internal/netns, or unshare's parent).
func RequirePrivate() error {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return fmt.Errorf("netem: reading this process's network namespace: %w", err)
	}
	if init, err := os.Readlink("/proc/1/ns/net"); err == nil {
		if init == self {
			return errHostNS
		}
	} else if !enteredBelowAncestor(self) {
		return errHostNS
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("netem: interface %s is up in this namespace: it is not a fresh private one", i.Name)
		}
	}
	return nil
}

var errHostNS = errors.New("netem: this process is in the host's network namespace: run it in a private one (internal/netns, unshare -n)")

// enteredBelowAncestor reports whether some ancestor of this process is in
// another network namespace than self.
func enteredBelowAncestor(self string) bool {
	pid := os.Getppid()
	for pid > 1 {
		ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net")
		if err != nil {
			return false
		}
		if ns != self {
			return true
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 2 {
			return false
		}
		if pid, err = strconv.Atoi(f[1]); err != nil {
			return false
		}
	}
	return false
}
