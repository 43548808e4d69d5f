// Command sessionguard operates sessionguard's sessions table from a shell:
// it applies the schema (or prints it for a DBA), lists and revokes sessions,
// runs one cleanup and prints statistics.
//
//	go run github.com/sessionguard/sessionguard/cmd/sessionguard --help
//
// Every command but "migrate --print" connects to the database named by the
// DATABASE_URL environment variable; there is no flag for it, so that its
// password stays out of the process list and the shell history, and no error
// message repeats it.
//
// Exit status: 0 success, 1 failure, 2 usage error ("sessionguard --help"
// says which is which).
//
// Each command is a function of (ctx, args, stdin, stdout, stderr, getenv),
// so the tests run it in-process against a throwaway PostgreSQL; main only
// supplies the process's own.
package main
