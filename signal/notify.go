package signal

import "sync"

// notifier calls Options.OnSwarm from one goroutine, outside the hub's
// locks, with the current viewer count of each swarm that changed.
// Bursts coalesce: only the latest count of a swarm matters.
type notifier struct {
	fn    func(swarm string, viewers int)
	count func(swarm string) int

	mu      sync.Mutex
	pending map[string]struct{}

	reported map[string]int // owned by run
	wake     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func newNotifier(fn func(string, int), count func(string) int) *notifier {
	return &notifier{
		fn:       fn,
		count:    count,
		pending:  make(map[string]struct{}),
		reported: make(map[string]int),
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// touch marks that swarm's viewer count may have changed.
func (n *notifier) touch(swarm string) {
	n.mu.Lock()
	n.pending[swarm] = struct{}{}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) run() {
	defer close(n.done)
	for {
		select {
		case <-n.wake:
			n.flush()
		case <-n.quit:
			n.flush()
			return
		}
	}
}

func (n *notifier) flush() {
	for {
		n.mu.Lock()
		batch := n.pending
		if len(batch) == 0 {
			n.mu.Unlock()
			return
		}
		n.pending = make(map[string]struct{})
		n.mu.Unlock()
		for swarm := range batch {
			c := n.count(swarm)
			if c == n.reported[swarm] {
				continue
			}
			if c == 0 {
				delete(n.reported, swarm)
			} else {
				n.reported[swarm] = c
			}
			n.fn(swarm, c)
		}
	}
}

// stop reports what is pending and ends the goroutine.
func (n *notifier) stop() {
	n.stopOnce.Do(func() { close(n.quit) })
	<-n.done
}
