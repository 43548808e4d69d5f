package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestNewBounced checks that both pools of a Bounced reach the same migrated
// database, one of them through the shared PgBouncer.
func TestNewBounced(t *testing.T) {
	t.Parallel()
	bc := NewBounced(t)
	b, err := getBouncer()
	if err != nil {
		t.Fatal(err)
	}
	if host := bc.Pool.Config().ConnConfig.Host; host != b.Dir() {
		t.Errorf("Pool host = %s; want the bouncer's socket directory %s", host, b.Dir())
	}
	if mode := bc.Pool.Config().ConnConfig.DefaultQueryExecMode; mode != pgx.QueryExecModeCacheDescribe {
		t.Errorf("Pool query exec mode = %v; want cache_describe", mode)
	}
	if !tableExists(t, bc.Pool, "sessions") {
		t.Fatal("sessions table missing behind the bouncer")
	}
	user := CreateUser(t, bc.Pool, "bounced@example.com", 0)
	direct, err := pgx.Connect(t.Context(), bc.DirectConnString)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close(t.Context())
	for name, q := range map[string]interface {
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}{"Direct": bc.Direct, "DirectConnString": direct} {
		var n int
		if err := q.QueryRow(t.Context(), "SELECT count(*) FROM users WHERE id = $1", user).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: user written through the bouncer: count = %d, err = %v; want 1", name, n, err)
		}
	}
}

func TestNewBarePoolBounced(t *testing.T) {
	t.Parallel()
	bc := NewBarePoolBounced(t)
	if !tableExists(t, bc.Pool, "users") || tableExists(t, bc.Pool, "sessions") {
		t.Fatal("want the fixture tables and no sessions table")
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct{ dsn, want string }{
		{"postgres://u:p@localhost:5432/postgres?sslmode=disable", "postgres://u:p@localhost:5432/db_1?sslmode=disable"},
		{"host=/tmp/x port=5432 user=postgres dbname=postgres", "host=/tmp/x port=5432 user=postgres dbname=postgres dbname='db_1'"},
	}
	for _, tt := range tests {
		if got := withDatabase(tt.dsn, "db_1"); got != tt.want {
			t.Errorf("withDatabase(%q) = %q; want %q", tt.dsn, got, tt.want)
		}
	}
}
