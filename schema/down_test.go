package schema_test

import (
	"context"
	"testing"

	"github.com/sessionguard/sessionguard/schema"
)

// TestDownStepByStep undoes one migration at a time and finds, after each,
// the schema of a database that applied the files up to the one before by
// hand: each down file is the exact inverse of its migration, not only all of
// them together. (Its tool, goose, runs the same down SQL the others run.)
func TestDownStepByStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tool := toolNamed(t, "goose")
	pool, _ := startingPoint(t, seedByHand)
	fsys := tool.inTeamSequence(t)
	tool.upAll(t, pool, fsys, "")

	ms := schema.Migrations()
	for keep := len(ms) - 1; keep >= 1; keep-- {
		tool.downTo(t, pool, fsys, "", int64(teamMigrations+keep))

		// The reference: the seed by hand, then the next keep-1 files by hand.
		ref, _ := startingPoint(t, seedByHand)
		for _, m := range ms[1:keep] {
			if _, err := ref.Exec(ctx, m.SQL); err != nil {
				t.Fatalf("apply %s by hand: %v", m.Name, err)
			}
		}
		sameCatalog(t, "down to "+ms[keep-1].Name,
			catalog(t, pool, tool.bookkeeping, "team_%", "sessionguard_schema_migrations%"),
			catalog(t, ref))
	}
}
