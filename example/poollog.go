package main

import (
	"context"
	"log/slog"
	"maps"
	"regexp"
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

// redactArgs replaces every text argument of a statement in s: strings,
// pointers to them and the elements of text arrays, as tracelog hands them
// over. tracelog cuts a string longer than 64 bytes to its first 64 and
// " (truncated n bytes)"; such an argument is cut out from its first 64 bytes
// to the quote that ends it in PostgreSQL's message.
func redactArgs(s string, args []any) string {
	var texts []string
	for _, a := range args {
		switch v := a.(type) {
		case string:
			texts = append(texts, v)
		case *string:
			if v != nil {
				texts = append(texts, *v)
			}
		case []string:
			texts = append(texts, v...)
		case []byte:
			texts = append(texts, string(v))
		}
	}
	// The longest first, so that an argument inside another is not cut out
	// of it before the other is.
	slices.SortFunc(texts, func(a, b string) int { return len(b) - len(a) })
	for _, text := range texts {
		if text == "" {
			continue
		}
		if m := truncatedArg.FindStringSubmatch(text); m != nil {
			s = regexp.MustCompile(regexp.QuoteMeta(m[1])+`[^"]*`).ReplaceAllLiteralString(s, "[redacted]")
			continue
		}
		s = strings.ReplaceAll(s, text, "[redacted]")
	}
	return s
}

// truncatedArg is a string argument as tracelog cuts it: its first 64 bytes
// (m[1]) and how many more it had.
var truncatedArg = regexp.MustCompile(`(?s)^(.+) \(truncated \d+ bytes\)$`)

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
