package procstat

import (
	"runtime"
	"testing"
)

func TestCPUTimeGrowsWithWork(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("CPU time is read with getrusage on unix only; this project's CI is Linux")
	}
	before := CPUTime()
	x := 0
	for i := range 50_000_000 {
		x += i ^ (x >> 3)
	}
	if CPUTime() <= before || x == 42 {
		t.Fatal("CPU time did not grow after 50M loop iterations")
	}
	if UDPRcvbufErrors() < 0 {
		t.Fatal("negative drop count")
	}
}
