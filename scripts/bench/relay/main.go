// Command relay is the floor any Runtime API proxy pays: make bench runs it as the Go
// function's bootstrap, with no extension. It listens on loopback, relays every
// connection byte for byte to the Runtime API (nothing parsed, nothing observed) and runs
// the function named by RELAY_FUNCTION with AWS_LAMBDA_RUNTIME_API pointed at itself, so
// the function's requests and their answers cross one more process, as they cross
// bodytrace's proxy.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
}

func run() error {
	fn := os.Getenv("RELAY_FUNCTION")
	if fn == "" {
		return fmt.Errorf("RELAY_FUNCTION is not set: name the function binary to run behind the relay")
	}
	upstream := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go serve(ln, upstream)
	cmd := exec.Command(fn, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

// serve relays each accepted connection to upstream, both ways, until either side closes.
func serve(ln net.Listener, upstream string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				return
			}
			defer u.Close()
			done := make(chan struct{})
			go func() {
				_, _ = io.Copy(u, c)
				_ = u.(*net.TCPConn).CloseWrite()
				close(done)
			}()
			_, _ = io.Copy(c, u)
			_ = c.(*net.TCPConn).CloseWrite()
			<-done
		}()
	}
}
