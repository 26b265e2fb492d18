package node

import (
	"errors"
	"net"
	"sync"
)

// mergedListener accepts from several listeners as one: the public HTTPS
// port and the plain HTTP one (listen_http) share one HTTP/1.1 server and
// one connection guard, so per-IP and descriptor limits count both. Addr is
// the first listener's. A temporary accept error (out of descriptors) is
// passed on as it is, for the guard to shed and retry; any other ends
// Accept for all. Close closes every one.
type mergedListener struct {
	lns  []net.Listener
	next chan accepted
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

type accepted struct {
	c   net.Conn
	err error
}

var _ net.Listener = (*mergedListener)(nil)

func newMergedListener(lns ...net.Listener) *mergedListener {
	m := &mergedListener{lns: lns, next: make(chan accepted), done: make(chan struct{})}
	for _, ln := range lns {
		m.wg.Add(1)
		go m.accept(ln)
	}
	return m
}

// accept hands each of ln's connections (and errors) to Accept; it waits
// for Accept to take one before it accepts the next, so a listener out of
// descriptors is retried at the guard's pace.
func (m *mergedListener) accept(ln net.Listener) {
	defer m.wg.Done()
	for {
		c, err := ln.Accept()
		select {
		case m.next <- accepted{c, err}:
		case <-m.done:
			if c != nil {
				_ = c.Close()
			}
			return
		}
		if err != nil && !temporaryAccept(err) {
			return
		}
	}
}

// Accept returns the next connection from any of the listeners.
func (m *mergedListener) Accept() (net.Conn, error) {
	select {
	case a := <-m.next:
		if a.err != nil && !temporaryAccept(a.err) {
			_ = m.Close()
		}
		return a.c, a.err
	case <-m.done:
		return nil, net.ErrClosed
	}
}

// Close closes every listener and waits for their accept loops.
func (m *mergedListener) Close() error {
	var err error
	m.once.Do(func() {
		close(m.done)
		for _, ln := range m.lns {
			err = errors.Join(err, ln.Close())
		}
		m.wg.Wait()
	})
	return err
}

// Addr is the first listener's address.
func (m *mergedListener) Addr() net.Addr { return m.lns[0].Addr() }
