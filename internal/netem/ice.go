package netem

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
)

// ICEServer is a STUN and TURN server (pion/turn) on one UDP socket: the
// role of coturn or of a node's own STUN answers, for runs that need
// server-reflexive or relayed candidates from a server in the wan.
// Relayed allocations get ports on the same address.
type ICEServer struct {
	srv  *turn.Server
	addr netip.AddrPort
	// User and Password are the long-term TURN credentials.
	User, Password string
}

// StartICEServer listens on addr (an address of the wan, port 0 for any)
// and answers STUN Binding requests from anyone and TURN allocations to
// user with password.
func StartICEServer(addr netip.AddrPort, user, password string) (*ICEServer, error) {
	pc, err := net.ListenPacket("udp4", addr.String())
	if err != nil {
		return nil, fmt.Errorf("netem: STUN/TURN server: %w", err)
	}
	const realm = "edgeswarm-netem"
	key := turn.GenerateAuthKey(user, realm, password)
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username != user {
				return "", nil, false
			}
			return user, key, true
		},
		LoggerFactory: logging.NewDefaultLoggerFactory(),
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn: pc,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{
				RelayAddress: net.IP(addr.Addr().AsSlice()),
				Address:      addr.Addr().String(),
			},
		}},
	})
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("netem: STUN/TURN server: %w", err)
	}
	return &ICEServer{srv: srv, addr: netip.MustParseAddrPort(pc.LocalAddr().String()), User: user, Password: password}, nil
}

// Addr is where the server listens.
func (s *ICEServer) Addr() netip.AddrPort { return s.addr }

// STUN is the server's stun: URL, TURN its turn: URL (UDP).
func (s *ICEServer) STUN() string { return "stun:" + s.addr.String() }

// TURN is the server's turn: URL (UDP).
func (s *ICEServer) TURN() string { return "turn:" + s.addr.String() + "?transport=udp" }

// Close stops the server and every allocation.
func (s *ICEServer) Close() error { return s.srv.Close() }
