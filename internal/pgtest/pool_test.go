package pgtest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// tableExists reports whether public.<name> exists in pool's database.
func tableExists(t *testing.T, pool *pgxpool.Pool, name string) bool {
	t.Helper()
	var ok bool
	if err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", "public."+name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func currentDatabase(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var name string
	if err := pool.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestNewPoolIsolated checks that parallel tests get different migrated
// databases that do not see each other's rows, and that they are dropped.
func TestNewPoolIsolated(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		names []string
	)
	t.Run("group", func(t *testing.T) {
		for i := range 2 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				pool := NewPool(t)
				mu.Lock()
				names = append(names, currentDatabase(t, pool))
				mu.Unlock()

				for _, table := range []string{"tenants", "users", "sessions"} {
					if !tableExists(t, pool, table) {
						t.Errorf("table %s missing", table)
					}
				}
				tenant := CreateTenant(t, pool, "acme")
				user := CreateUser(t, pool, fmt.Sprintf("u%d@example.com", i), tenant)
				staff := CreateUser(t, pool, "staff@example.com", 0)
				if _, err := pool.Exec(t.Context(),
					`INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at, tenant_id, app_type)
					 VALUES ($1, $2, now() + interval '8 hours', $3, 'tenant_app')`,
					user, fmt.Sprintf("%064d", i), tenant); err != nil {
					t.Fatalf("insert session: %v", err)
				}
				var users, noTenant int
				if err := pool.QueryRow(t.Context(),
					"SELECT count(*), count(*) FILTER (WHERE tenant_id IS NULL AND id = $1) FROM users", staff).
					Scan(&users, &noTenant); err != nil {
					t.Fatal(err)
				}
				if users != 2 || noTenant != 1 {
					t.Errorf("users = %d, without tenant = %d; want 2 and 1 (own rows only, 0 means NULL)", users, noTenant)
				}
			})
		}
	})
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases = %v; want two different ones", names)
	}
	sh := mustShared(t)
	for _, name := range names {
		ok, err := databaseExists(t.Context(), sh.admin, name)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}

func TestNewBarePool(t *testing.T) {
	t.Parallel()
	pool := NewBarePool(t)
	for table, want := range map[string]bool{"users": true, "tenants": true, "sessions": false} {
		if got := tableExists(t, pool, table); got != want {
			t.Errorf("table %s exists = %v; want %v", table, got, want)
		}
	}
}

func TestNewEmptyPool(t *testing.T) {
	t.Parallel()
	pool := NewEmptyPool(t)
	var n int
	if err := pool.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'").
		Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("public relations = %d; want 0", n)
	}
}

// TestTemplateNames checks that each template's name follows its SQL, which
// is what makes a persistent DATABASE_URL server pick up new migrations.
func TestTemplateNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"deterministic", templateName("bare", FixtureSQL), templateName("bare", FixtureSQL), true},
		{"kinds differ", templateName("bare", FixtureSQL), migratedTemplate().name, false},
		{"sql changes", templateName("mig", FixtureSQL, "x"), templateName("mig", FixtureSQL, "y"), false},
		{"parts cannot run together", templateName("mig", "ab", "c"), templateName("mig", "a", "bc"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.a == tt.b) != tt.same {
				t.Errorf("%s vs %s: same = %v; want %v", tt.a, tt.b, tt.a == tt.b, tt.same)
			}
			if len(tt.a) > 63-len("_build") {
				t.Errorf("%s is too long for a database name with its build suffix", tt.a)
			}
		})
	}
}

// TestEnsureTemplateConcurrent builds one new template from several
// goroutines at once, each on its own maintenance connection, as parallel
// test binaries would: all must succeed and find one finished template.
func TestEnsureTemplateConcurrent(t *testing.T) {
	t.Parallel()
	sh := mustShared(t)
	tpl := template{
		name: templateName("race", t.Name(), databaseName(t)), // unique per run
		build: func(ctx context.Context, p *pgxpool.Pool) error {
			_, err := p.Exec(ctx, "CREATE TABLE built (id int); SELECT pg_sleep(0.2)")
			return err
		},
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, s := range []string{
			"ALTER DATABASE " + ident(tpl.name) + " WITH IS_TEMPLATE false",
			"DROP DATABASE " + ident(tpl.name),
		} {
			if _, err := sh.admin.Exec(ctx, s); err != nil {
				t.Errorf("%s: %v", s, err)
			}
		}
	})

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = ensureTemplate(t.Context(), sh, tpl) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("ensureTemplate #%d: %v", i, err)
		}
	}
	var isTemplate, allowConn bool
	if err := sh.admin.QueryRow(t.Context(),
		"SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1", tpl.name).
		Scan(&isTemplate, &allowConn); err != nil {
		t.Fatalf("template %s: %v", tpl.name, err)
	}
	if !isTemplate || allowConn {
		t.Errorf("datistemplate = %v, datallowconn = %v; want true, false", isTemplate, allowConn)
	}
	if ok, err := databaseExists(t.Context(), sh.admin, tpl.name+"_build"); err != nil || ok {
		t.Errorf("build database left behind: exists = %v, err = %v", ok, err)
	}
}
