package seeder

import "testing"

func TestPolicyPushCount(t *testing.T) {
	for _, tt := range []struct {
		frac          float64
		viewers, want int
	}{
		{0, 50, 0}, {0.1, 0, 0}, {0.01, 3, 1}, {0.1, 20, 2}, {0.25, 10, 3}, {1, 7, 7}, {0.5, 1, 1},
	} {
		if got := policyPushCount(tt.frac, tt.viewers); got != tt.want {
			t.Errorf("policyPushCount(%v, %d) = %d, want %d", tt.frac, tt.viewers, got, tt.want)
		}
	}
}
