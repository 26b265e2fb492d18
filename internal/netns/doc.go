// Package netns runs a test binary inside a private network namespace
// that has nothing but a loopback interface, so that tests which open real
// network connections (WebRTC, ICE) cannot reach or be reached from any
// other address, whatever the host's interfaces.
//
// A package opts in from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(netns.Run(m)) }
//
// and each test that needs the isolation calls RequireLoopbackOnly, which
// fails the test (never skips it) when the process is not isolated. The
// package never changes the host's network: it creates a new namespace
// (which needs root or CAP_SYS_ADMIN) and only touches the loopback
// interface inside it.
package netns
