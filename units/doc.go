// Package units holds the value types that configuration keys share
// across components, so that every size key in every component reads the
// same way ("48MiB", "1.5GB", "1048576").
//
// It imports nothing of edgeswarm and must stay that way: every component
// config may import it.
package units
