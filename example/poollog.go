package main

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/tracelog"
)

// withPoolLogger makes log the pool's logger (pgx's tracelog), next to any
// tracer pc already has.
//
// Warnings and errors only, and never a statement's arguments: pgx logs every
// statement at Info level, and with its arguments at every level; here those
// are token hashes and password hashes, which must not reach a log. Nor may
// they through the error: PostgreSQL quotes a value it cannot read ("invalid
// input syntax for type …: \"…\""), so every text argument is cut out of the
// error message.
func withPoolLogger(pc *pgxpool.Config, log *slog.Logger) {
	tl := &tracelog.TraceLog{Logger: tracelog.LoggerFunc(poolLogFunc(log)), LogLevel: tracelog.LogLevelWarn}
	if pc.ConnConfig.Tracer == nil {
		pc.ConnConfig.Tracer = tl
		return
	}
	pc.ConnConfig.Tracer = multitracer.New(pc.ConnConfig.Tracer, tl)
}

// poolLogFunc writes one pgx log entry to log, without its arguments.
func poolLogFunc(log *slog.Logger) func(context.Context, tracelog.LogLevel, string, map[string]any) {
	return func(ctx context.Context, level tracelog.LogLevel, msg string, data map[string]any) {
		args, _ := data["args"].([]any)
		attrs := make([]slog.Attr, 0, len(data))
		for _, k := range slices.Sorted(maps.Keys(data)) {
			switch v := data[k].(type) {
			case error:
				attrs = append(attrs, slog.String(k, redactArgs(v.Error(), args)))
			default:
				if k != "args" {
					attrs = append(attrs, slog.Any(k, v))
				}
			}
		}
		log.LogAttrs(ctx, poolLogLevel(level), "pgx: "+msg, attrs...)
	}
}

// redactArgs replaces every text argument of a statement in s.
func redactArgs(s string, args []any) string {
	for _, a := range args {
		var text string
		switch v := a.(type) {
		case string:
			text = v
		case []byte:
			text = string(v)
		}
		if text != "" {
			s = strings.ReplaceAll(s, text, "[redacted]")
		}
	}
	return s
}

// poolLogLevel maps pgx's levels to slog's.
func poolLogLevel(l tracelog.LogLevel) slog.Level {
	switch {
	case l <= tracelog.LogLevelError:
		return slog.LevelError
	case l == tracelog.LogLevelWarn:
		return slog.LevelWarn
	case l == tracelog.LogLevelInfo:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}
