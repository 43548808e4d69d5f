package schema_test

import (
	"context"
	"fmt"
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
