package cache

import "time"

// PartTarget is the LL-HLS part target of a live media playlist, 0 for
// anything else (see Object.PartTarget).
func (e *Entry) PartTarget() time.Duration { return e.partTarget }

// Hints lists the preload hints of a live LL-HLS media playlist (see
// Object.Hints). The slice is shared: do not modify it.
func (e *Entry) Hints() []string { return e.hints }
