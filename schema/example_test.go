package schema_test

import (
	"context"
	"fmt"
	"io/fs"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard/schema"
)

// ExampleMigrate runs at application start-up. Several instances may start at
// once: they queue on an advisory lock. (It needs a database: compiled, not
// run.)
func ExampleMigrate() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := schema.Migrate(ctx, pool); err != nil {
		log.Fatal(err)
	}
}

// ExampleMigrations lists the SQL files, for teams that apply them with their
// own migration tool instead of Migrate.
func ExampleMigrations() {
	for _, m := range schema.Migrations()[:2] {
		fmt.Println(m.Version, m.Name)
	}
	// Output:
	// 22 022_add_session_management.sql
	// 23 023_sessionguard_core.sql
}

// ExampleGoose numbers sessionguard's migrations after a team's own: its
// latest goose migration is 41, so migration 022 becomes 42. The folder goes
// to goose beside the team's (for instance merged into one fs.FS, or with
// goose.NewProvider and a version table of its own).
func ExampleGoose() {
	fsys, err := schema.Goose(42)
	if err != nil {
		log.Fatal(err)
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(names[0])
	fmt.Println(names[1])
	// Output:
	// 00042_add_session_management.sql
	// 00043_sessionguard_core.sql
}
