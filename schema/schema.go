// Package schema is a TEMPORARY stand-in with the agreed API of the real
// schema package, so internal/pgtest can be built and tested before that
// package lands. Drop this commit when merging.
package schema

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/022_add_session_management.sql
var files embed.FS

// Migration is one embedded SQL migration.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded migrations in order.
func Migrations() []Migration {
	b, err := files.ReadFile("migrations/022_add_session_management.sql")
	if err != nil {
		panic(err) // embedded at build time; cannot fail
	}
	return []Migration{{Version: 22, Name: "add_session_management", SQL: string(b)}}
}

// Migrate applies every migration. The seed uses IF NOT EXISTS and CREATE OR
// REPLACE throughout, so running it again is harmless.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	for _, m := range Migrations() {
		if _, err := pool.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("schema: migration %03d: %w", m.Version, err)
		}
	}
	return nil
}
