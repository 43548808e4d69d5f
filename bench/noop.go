package main

import (
	"bufio"
	"net"
)

// noopResponse is what the no-op server answers to every request.
var noopResponse = []byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")

// serveNoop answers every request on ln with noopResponse, reading only up
// to the blank line that ends the request's headers (the load generator's
// requests have no body). It measures the load generator: a run against it
// costs the generator's work plus this loop, nothing else.
func serveNoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReaderSize(c, 4096)
			for {
				for {
					line, err := r.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(line) <= 2 {
						break
					}
				}
				if _, err := c.Write(noopResponse); err != nil {
					return
				}
			}
		}()
	}
}
