// Package netem builds an emulated internet inside the private network
// namespace of a test or benchmark: homes behind NATs, with the latency,
// loss and capped links of real access networks, around a "wan" where the
// node lives.
//
// The namespace the caller runs in plays the wan: a bridge with the node's
// address (WANAddr, 10.0.0.1/16). Each home is two network namespaces of
// its own: the home's LAN, where its viewers run (one address,
// 192.168.i.2), and its router, which joins the LAN to the wan bridge
// through a veth pair and translates addresses with nftables masquerade,
// either endpoint-independent (Cone: plain masquerade, which keeps the
// source port for every destination) or address-and-port-dependent
// (Symmetric: masquerade fully-random, a new port per destination).
// Between LAN and router a delay line in this process (two TUN devices)
// adds one-way delay, jitter and loss per direction, and tc tbf on the
// router caps the uplink and the downlink.
//
// Namespaces are held by child processes of this one (sleep, killed when
// this process dies) and reached through /proc/PID/ns/net: nothing is
// named in /run/netns, nothing outlives the run. New refuses to run unless
// the calling process is in a network namespace of its own that has only
// loopback up (not the host's), so the host's network is never touched.
// It needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN), and ip, tc, nft and
// nsenter (Debian: iproute2, nftables, util-linux).
//
// The delay line is userspace because netem (sch_netem) is missing from
// some kernels; it keeps packets in order, as a real access link does.
//
// Processes enter a home with HomeNet.Command (nsenter --net=), Go code
// opens sockets there with HomeNet.Do; the command netemrun runs any
// command inside an emulated internet (the browser e2e suite).
package netem
