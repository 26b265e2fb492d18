//go:build !linux

package seeder

import "net"

// newPlatformSender: without UDP GSO, the batch goes out one datagram
// at a time (still off the writers' goroutines).
func newPlatformSender(c *net.UDPConn) batchSender { return plainSender{c} }

// gsoActive: there is no UDP GSO here.
func gsoActive(batchSender) bool { return false }
