//go:build !linux

package netns

import (
	"errors"
	"os/exec"
)

var errUnsupported = errors.New("network namespaces exist only on Linux")

func newNetNS(*exec.Cmd) error { return errUnsupported }

func loopbackUp() error { return errUnsupported }
