package middleware_test

import (
	"testing"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
