package localrun

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// FreePort returns a loopback TCP port that was free a moment ago. It is picked below the
// kernel's ephemeral range: a port handed out by the kernel (":0") can be taken by any
// outgoing connection before the emulator binds it, which it does only at its first invoke.
func FreePort() (int, error) {
	return freePort(func(addr string) (io.Closer, error) { return net.Listen("tcp", addr) })
}

// freeUDPPort is FreePort for UDP: each emulator's extension gets its own step line port,
// so concurrent runs never share step lines.
func freeUDPPort() (int, error) {
	return freePort(func(addr string) (io.Closer, error) { return net.ListenPacket("udp", addr) })
}

func freePort(listen func(addr string) (io.Closer, error)) (int, error) {
	lo, hi := 10000, ephemeralStart()
	for range 100 {
		p := lo + rand.IntN(hi-lo)
		if c, err := listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			c.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port between %d and %d after 100 tries", lo, hi)
}

// ephemeralStart is the first port of the kernel's ephemeral range (32768 by default).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				return n
			}
		}
	}
	return 32768
}
