package middleware_test

import (
	"testing"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// TestMain removes the throwaway PostgreSQL server that the scs end-to-end
// tests start on first use; tests that use no database never start it.
func TestMain(m *testing.M) { pgtest.Main(m) }
