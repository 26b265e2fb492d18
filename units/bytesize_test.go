package units

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParseByteSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ByteSize
	}{
		{"0", 0}, {"1048576", 1 << 20}, {"48MiB", 48 << 20}, {"48M", 48 << 20}, {"1.5GB", 1_500_000_000},
		{" 2 GiB ", 2 << 30}, {"64K", 64 << 10}, {"10KB", 10_000}, {"7B", 7}, {"1T", 1 << 40},
	} {
		got, err := ParseByteSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1e30GiB", "NaN", "Inf", "0x10", "1_000", "48 mb", "five"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) = nil error", bad)
		}
	}
}

func TestByteSizeRoundTrip(t *testing.T) {
	for _, v := range []ByteSize{0, 1, 1023, 1 << 10, 48 << 20, 3 << 30, 5 << 40, 1_500_000_000} {
		s := v.String()
		got, err := ParseByteSize(s)
		if err != nil || got != v {
			t.Errorf("%d -> %q -> %d, %v", v, s, got, err)
		}
	}
}

func TestByteSizeYAMLNamesLine(t *testing.T) {
	var v struct {
		A ByteSize `yaml:"a"`
		B ByteSize `yaml:"b"`
	}
	if err := yaml.Unmarshal([]byte("a: 48MiB\nb: 12 bananas\n"), &v); err == nil || !strings.Contains(err.Error(), "line 2: invalid size") {
		t.Fatalf("err = %v, want one naming line 2", err)
	}
	if v.A != 48<<20 {
		t.Fatalf("a = %d", v.A)
	}
}

func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"48MiB", "1.5GB", "0", "-1", "1e300", "K"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseByteSize(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("%q parsed to negative %d", s, v)
		}
		if back, err := ParseByteSize(v.String()); err != nil || back != v {
			t.Fatalf("%q: %d does not round-trip via %q", s, v, v.String())
		}
	})
}
