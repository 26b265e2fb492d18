// Package deploy holds what an operator deploys edgeswarm with (container
// image, systemd unit, Kubernetes manifests, Grafana dashboard, a local
// three-node cluster; see README.md) and the tests that check those files
// against the node they deploy. It has no code of its own.
package deploy
