package steps

import (
	"syscall"
	"unsafe"
)

// inQueue is how many bytes wait to be read from the descriptor (FIONREAD: for a datagram
// socket, the size of the next datagram).
func inQueue(raw syscall.RawConn) (n int, ok bool) {
	err := raw.Control(func(fd uintptr) {
		var v int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&v))); e == 0 {
			n, ok = int(v), true
		}
	})
	return n, ok && err == nil
}
