package pgstore

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// A pool's name is every host of its configuration, each once (sslmode
// prefer makes two fallbacks of each host), and its database, and nothing
// of its credentials.
func TestPoolName(t *testing.T) {
	for _, tt := range []struct{ dsn, want string }{
		{"host=db.internal port=6432 dbname=app user=app password=s3cret", "db.internal:6432/app"},
		{"host=a,b port=5432,5433 dbname=app user=app password=s3cret sslmode=prefer", "a:5432,b:5433/app"},
		{"postgres://app:s3cret@[::1]:5432/app?sslmode=disable", "[::1]:5432/app"},
		{"host=/var/run/postgresql dbname=app user=app", "/var/run/postgresql:5432/app"},
	} {
		cfg, err := pgconn.ParseConfig(tt.dsn)
		if err != nil {
			t.Fatal(err)
		}
		got := poolName(*cfg)
		if got != tt.want {
			t.Errorf("poolName(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
		if strings.Contains(got, "s3cret") || strings.Contains(got, "app@") {
			t.Errorf("poolName(%q) = %q names a credential", tt.dsn, got)
		}
	}
}
