package analytics

// ring holds the most recent points of one resolution, oldest first once
// it wrapped: only points that received data are stored, so a quiet
// stream costs nothing and n points always cover at least n*width.
type ring[T any] struct {
	width int64 // seconds per point
	n     int
	pts   []slot[T]
	head  int // index of the newest point; meaningless while empty
}

type slot[T any] struct {
	t int64 // start of the point, Unix seconds
	v T
}

func newRing[T any](width int64, n int) ring[T] { return ring[T]{width: width, n: n} }

// at returns the point holding second sec, starting a new one (which may
// replace the oldest) when sec is past the newest. A second before the
// newest point counts in the newest: clocks step back, reports do not.
func (r *ring[T]) at(sec int64) *T {
	ts := sec - mod(sec, r.width)
	if len(r.pts) > 0 {
		if p := &r.pts[r.head]; ts <= p.t {
			return &p.v
		}
	}
	if len(r.pts) < r.n {
		r.pts = append(r.pts, slot[T]{t: ts})
		r.head = len(r.pts) - 1
	} else {
		r.head = (r.head + 1) % r.n
		var zero T
		r.pts[r.head] = slot[T]{t: ts, v: zero}
	}
	return &r.pts[r.head].v
}

// each calls f for every point starting at or after from and before to,
// oldest first.
func (r *ring[T]) each(from, to int64, f func(t int64, v *T)) {
	k := len(r.pts)
	start := 0
	if k == r.n {
		start = (r.head + 1) % r.n
	}
	for i := range k {
		p := &r.pts[(start+i)%k]
		if p.t >= from && p.t < to {
			f(p.t, &p.v)
		}
	}
}

// newest returns the start of the newest point, or false when empty.
func (r *ring[T]) newest() (int64, bool) {
	if len(r.pts) == 0 {
		return 0, false
	}
	return r.pts[r.head].t, true
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
