// Package procstat reads process and network counters for benchmarks:
// CPU time used and UDP datagrams dropped for full receive buffers.
package procstat

import (
	"os"
	"strconv"
	"strings"
)

// UDPRcvbufErrors returns the network namespace's count of UDP datagrams
// dropped for a full socket receive buffer (Linux; 0 elsewhere).
func UDPRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseInt(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}
