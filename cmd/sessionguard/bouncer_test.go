package main

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestCommandsBehindPgBouncer runs every command three times through
// PgBouncer in transaction pooling, with DATABASE_URL as an application's
// (no default_query_exec_mode): PgBouncer hands a later run the server
// connection an earlier one used, so a command that prepared named
// statements fails from its second run on ("prepared statement ... already
// exists").
func TestCommandsBehindPgBouncer(t *testing.T) {
	t.Parallel()
	bc := pgtest.NewBounced(t)
	user := pgtest.CreateUser(t, bc.Direct, "ops@example.com", 0)
	f := &fixture{pool: bc.Direct, store: newStore(t, bc.Direct)}
	env := map[string]string{"DATABASE_URL": bc.ConnString}
	for i := range 3 {
		f.session(t, sessionguard.NewSession{UserID: user})
		for _, args := range [][]string{
			{"migrate"},
			{"stats"},
			{"sessions", "list", "--user", itoa(user)},
			{"cleanup"},
			{"sessions", "revoke", "--user", itoa(user), "--reason", "admin_revoke", "--yes"},
		} {
			if r := runCmd(t, env, nil, args...); r.code != exitOK {
				t.Errorf("run %d of %v: exit status %d, stderr %q", i+1, args, r.code, r.stderr)
			}
		}
	}
	if n, err := f.store.CountActive(t.Context(), pgstore.Selection{UserID: user}); err != nil || n != 0 {
		t.Errorf("%d sessions left active (%v), want 0", n, err)
	}
}

// TestQueryExecMode: the commands use cache_describe (which works through
// PgBouncer) unless DATABASE_URL names a mode, pgx's default cache_statement
// included: a mode named there is the operator's choice, kept as written.
func TestQueryExecMode(t *testing.T) {
	t.Parallel()
	base := dsn(pgtest.NewPool(t))
	tests := []struct {
		setting string
		want    pgx.QueryExecMode
	}{
		{"", pgx.QueryExecModeCacheDescribe},
		{" default_query_exec_mode=exec", pgx.QueryExecModeExec},
		{" default_query_exec_mode=simple_protocol", pgx.QueryExecModeSimpleProtocol},
		{" default_query_exec_mode=describe_exec", pgx.QueryExecModeDescribeExec},
		{" default_query_exec_mode=cache_statement", pgx.QueryExecModeCacheStatement},
	}
	for _, tt := range tests {
		t.Run(tt.want.String(), func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": base + tt.setting}
			pool, err := connect(t.Context(), func(k string) string { return env[k] }, defaultLockTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if got := pool.Config().ConnConfig.DefaultQueryExecMode; got != tt.want {
				t.Errorf("DATABASE_URL with %q: query exec mode %v, want %v", tt.setting, got, tt.want)
			}
		})
	}
}
