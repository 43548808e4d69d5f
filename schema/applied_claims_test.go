package schema_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/schema"
)

// TestAppliedOnANeverMigratedDatabase backs Applied's doc comment: on a
// database that was never migrated (no ledger table), with or without the
// application's users and tenants, it returns no records and no error, so
// an operator's tool can ask before migrating.
func TestAppliedOnANeverMigratedDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		new  func(testing.TB) *pgxpool.Pool
	}{
		{"empty database", pgtest.NewEmptyPool},
		{"users and tenants only", pgtest.NewBarePool},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			records, err := schema.Applied(context.Background(), tt.new(t))
			if err != nil || len(records) != 0 {
				t.Fatalf("Applied = %v, %v; want no records and no error", records, err)
			}
		})
	}
}
