package middleware_test

import (
	"testing"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// TestMain gives the tests that run against a real PostgreSQL (realdb_test.go
// and the files that use it) their throwaway server.
func TestMain(m *testing.M) { pgtest.Main(m) }
