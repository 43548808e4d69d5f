package main

import (
	"os"
	"strings"
	"testing"
)

// TestAuditLoggerNamesTheMachine: every audit line of a command carries the
// OS account, the host and, under sudo, the account sudo was called from
// (README, "Operating it"), whether or not --actor was given.
func TestAuditLoggerNamesTheMachine(t *testing.T) {
	t.Parallel()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    []string
		notWant []string
	}{
		{"plain", nil, []string{"os_user=" + osUser(), "host=" + host}, []string{"sudo_user"}},
		{"under sudo", map[string]string{"SUDO_USER": "alice"}, []string{"os_user=" + osUser(), "host=" + host, "sudo_user=alice"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			auditLogger(&out, func(k string) string { return tt.env[k] }).Info("sessionguard: session revoked")
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("audit line %q lacks %s", out.String(), w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("audit line %q has %s", out.String(), w)
				}
			}
		})
	}
}
