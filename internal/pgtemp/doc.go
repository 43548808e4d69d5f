// Package pgtemp runs a throwaway PostgreSQL server for tests and for the
// example app's zero-configuration default.
//
// Each server lives in its own temporary directory: the data directory, the
// server log and the unix socket all sit there, and the server listens on
// nothing else. A unique directory means no port can clash with another
// server on the machine, so every server uses port 5432 on its own socket.
// Durability is switched off (fsync, synchronous_commit, full_page_writes)
// because the data is thrown away; that makes startup and CREATE DATABASE
// fast.
//
// PostgreSQL refuses to run as root, so when the caller is root the
// directory is handed to the OS user "postgres" and the server runs as that
// user. On Linux the server is also tied to the calling process: if it dies
// without calling Close, the server receives SIGQUIT instead of leaking.
//
//	srv, err := pgtemp.Start(ctx, pgtemp.Options{})
//	if err != nil {
//		return err // errors.Is(err, pgtemp.ErrNoPostgres) says how to fix a missing install
//	}
//	defer srv.Close()
//	pool, err := pgxpool.New(ctx, srv.ConnString("postgres"))
//
// StartBouncer puts a PgBouncer (transaction pooling, unix socket only, run
// as the same user) in front of a server, for tests of the library behind a
// transaction pooler.
package pgtemp
