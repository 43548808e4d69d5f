package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// errDeclined means the operator did not answer yes: nothing was done.
var errDeclined = errors.New("not confirmed: nothing was changed")

// isTerminal reports whether r is a terminal a person can answer on.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks question on stderr and reads one line of stdin; only "yes" or
// "y" (any case) goes on. End of input or any other answer is errDeclined; ctx
// ending (a Ctrl-C while waiting) is an error too.
func confirm(ctx context.Context, stdin io.Reader, stderr io.Writer, question string) error {
	fmt.Fprintf(stderr, "%s Type yes to go on: ", question)
	answer := make(chan string, 1)
	go func() {
		// Left blocked on a terminal read if ctx ends first; the command
		// returns and the process exits.
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		answer <- line
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(stderr)
		return fmt.Errorf("interrupted: nothing was changed (%w)", ctx.Err())
	case line := <-answer:
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "yes", "y":
			return nil
		}
		if !strings.HasSuffix(line, "\n") {
			fmt.Fprintln(stderr) // end of input: keep the next message on its own line
		}
		return errDeclined
	}
}
