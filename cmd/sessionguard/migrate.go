package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sessionguard/sessionguard/schema"
)

func migrateFlags() (*flagSet, *bool, *int64) {
	ms := schema.Migrations()
	first, last := ms[0], ms[len(ms)-1]
	fs := newFlagSet("migrate", "migrate [--print [--after VERSION]]", fmt.Sprintf(`
Applies every schema migration the database has not recorded (schema.Migrate:
idempotent, and safe while the application starts up and does the same). A
database that ran migration %03d by hand is adopted: its sessions table is kept
as it is (a function of the file that was dropped since is restored). It prints
what it applied.

With --print it connects to nothing and writes the SQL of the migrations
instead, versions %03d to %03d in order (with --after N, only those after N),
for a DBA who applies SQL by hand: for instance
  sessionguard migrate --print > sessionguard.sql
  psql -v ON_ERROR_STOP=1 -f sessionguard.sql "$DATABASE_URL"
The SQL is that of the up files in schema/golang-migrate, after one psql
command that stops the script at the first error. Each migration runs in
its own transaction together with the row that records it (version, file
name, checksum) in sessionguard_schema_migrations, the table schema.Migrate
reads: an application that calls schema.Migrate later applies nothing again,
and one that calls it meanwhile takes turns with the script (each migration
first takes the lock schema.Migrate takes).
Migration %03d keeps a sessions table the database already has (it ran the
file by hand), rows and all. Every migration is idempotent; --after the
highest version in that table prints only what is missing (a script that
applies nothing when that is the latest).`,
		first.Version, first.Version, last.Version, first.Version))
	printSQL := fs.Bool("print", false, "write the migrations' SQL to stdout instead of applying them")
	after := fs.decimal("after", "with --print: only the migrations whose `version` is above this one (023 or 23)")
	return fs, printSQL, after
}

func migrateCommand(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer, getenv func(string) string) error {
	fs, printSQL, after := migrateFlags()
	lockTimeout := fs.lockTimeout()
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if fs.given("after") && !*printSQL {
		return usagef("--after goes with --print")
	}
	if *printSQL {
		return printMigrations(stdout, *after)
	}
	pool, err := connect(ctx, getenv, *lockTimeout)
	if err != nil {
		return err
	}
	defer pool.Close()

	before, err := schema.Applied(ctx, pool)
	if err != nil {
		return err
	}
	// Each migration commits on its own: after a failure (or a Ctrl-C) the
	// ones before it stay applied, and the output says which.
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchMigrationTurn(watchCtx, pool, *lockTimeout)
	migrateErr := schema.Migrate(ctx, pool)
	stopWatch()
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), connectTimeout)
	defer cancel()
	now, err := schema.Applied(readCtx, pool)
	if err != nil {
		return errors.Join(migrateErr, err)
	}
	had := make(map[int]bool, len(before))
	for _, r := range before {
		had[r.Version] = true
	}
	for _, r := range now {
		switch {
		case had[r.Version]:
		case r.Adopted:
			fmt.Fprintf(stdout, "adopted %s (the database already had its sessions table: kept, rows and all)\n", r.Name)
		default:
			fmt.Fprintf(stdout, "applied %s\n", r.Name)
		}
	}
	if migrateErr != nil {
		return migrateErr
	}
	if len(now) > 0 {
		fmt.Fprintf(stdout, "schema up to date: %d migrations recorded, the latest %s\n", len(now), now[len(now)-1].Name)
	}
	return nil
}
