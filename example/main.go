package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(mainCode()) }

func mainCode() int {
	cfg, err := loadConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		return 2
	}
	cfg.logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

	// Ctrl-C or SIGTERM ends ctx: run then shuts down and removes its
	// throwaway database. Further signals are ignored until it is done, so
	// that an impatient second Ctrl-C does not leave the database behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		return 1
	}
	return 0
}
