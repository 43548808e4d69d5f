package main

import (
	"io"
	"strings"
	"testing"
)

// TestSecretsHaveNoFlag backs README's "DATABASE_URL … and DEMO_PASSWORD …,
// both from the environment only (no flag, so that neither shows in the
// process list)": the flags those names would have are refused, and the
// environment sets them.
func TestSecretsHaveNoFlag(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"-database-url", "-demo-password", "-database_url", "-demo_password"} {
		t.Run(flag, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig([]string{flag, "postgres://u:secret@db/x"}, func(string) string { return "" }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "flag provided but not defined") {
				t.Fatalf("loadConfig(%s …) = %v; want the flag refused", flag, err)
			}
		})
	}
	env := map[string]string{"DATABASE_URL": "postgres://u:secret@db/x", "DEMO_PASSWORD": "from-the-environment"}
	cfg, err := loadConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || cfg.DatabaseURL != env["DATABASE_URL"] || cfg.DemoPassword != env["DEMO_PASSWORD"] {
		t.Fatalf("loadConfig from the environment = %+v, %v", cfg, err)
	}
}
