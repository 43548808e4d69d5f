package pgstore_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// BenchmarkValidatePath measures the default path (Store.Validate in its
// steady state: a plain SELECT, nothing due) direct to PostgreSQL and through
// PgBouncer in transaction pooling, with pgx's default query execution mode
// (named prepared statements, direct only: it breaks behind PgBouncer) and
// the modes that work behind it. For BENCHMARKS.md, on a quiet machine:
//
//	go test -run '^$' -bench BenchmarkValidatePath -benchtime 5s -count 6 ./pgstore/ | tee bouncer.txt
//	go run golang.org/x/perf/cmd/benchstat@latest bouncer.txt
func BenchmarkValidatePath(b *testing.B) {
	bc := pgtest.NewBounced(b)
	ctx := context.Background()
	user := pgtest.CreateUser(b, bc.Direct, "bench@example.com", 0)
	setup, err := pgstore.New(bc.Direct, pgstore.Config{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	hashes := make([]string, 1000)
	for i := range hashes {
		hashes[i] = newHash(b)
		if _, err := setup.Create(ctx, sessionguard.NewSession{TokenHash: hashes[i], UserID: user, AppType: sessionguard.ControlPanel}); err != nil {
			b.Fatal(err)
		}
	}
	variants := []struct {
		name, connString string
		mode             pgx.QueryExecMode
	}{
		{"direct/cache_statement", bc.DirectConnString, pgx.QueryExecModeCacheStatement}, // pgx's default
		{"direct/cache_describe", bc.DirectConnString, pgx.QueryExecModeCacheDescribe},
		{"pgbouncer/cache_describe", bc.ConnString, pgx.QueryExecModeCacheDescribe}, // README's choice
		{"pgbouncer/exec", bc.ConnString, pgx.QueryExecModeExec},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			cfg, err := pgxpool.ParseConfig(v.connString)
			if err != nil {
				b.Fatal(err)
			}
			cfg.ConnConfig.DefaultQueryExecMode = v.mode
			cfg.MaxConns = 8
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			store, err := pgstore.New(pool, pgstore.Config{Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			// Warm every connection and touch every session once, so the
			// measured calls are the steady state.
			for _, h := range hashes {
				if _, err := store.Validate(ctx, h, sessionguard.Scope{}); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h := hashes[next.Add(1)%int64(len(hashes))]
					st, err := store.Validate(ctx, h, sessionguard.Scope{})
					if err != nil || st.State != sessionguard.StateValid {
						b.Errorf("Validate = %q, %v", st.State, err)
						return
					}
				}
			})
		})
	}
}
