// Command nullext is the smallest useful Lambda extension: it registers, then asks for
// events until SHUTDOWN. make bench times its cold start beside bodytrace's, as the floor
// any extension written in Go pays under the emulator (process start, Go runtime,
// /register, /next).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "nullext:", err)
		os.Exit(1)
	}
}

func run() error {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2020-01-01/extension/"
	req, err := http.NewRequest(http.MethodPost, base+"register", bytes.NewReader([]byte(`{"events":["INVOKE","SHUTDOWN"]}`)))
	if err != nil {
		return err
	}
	req.Header.Set("Lambda-Extension-Name", filepath.Base(os.Args[0]))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("register: HTTP %d", resp.StatusCode)
	}
	id := resp.Header.Get("Lambda-Extension-Identifier")
	for {
		req, err := http.NewRequest(http.MethodGet, base+"event/next", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Lambda-Extension-Identifier", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var ev struct {
			EventType string `json:"eventType"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ev)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if ev.EventType == "SHUTDOWN" {
			return nil
		}
	}
}
