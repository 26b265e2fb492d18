//go:build !unix

package node

func fdLimit() int { return 0 }
