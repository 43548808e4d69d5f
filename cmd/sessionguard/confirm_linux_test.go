package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/sessionguard/sessionguard"
)

// TestSessionsRevokeConfirm answers the prompt on a real pseudo-terminal, so
// the terminal check and the read are the ones an operator meets.
func TestSessionsRevokeConfirm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		typed   string
		code    int
		revoked bool
	}{
		{"yes", "yes\n", exitOK, true},
		{"y, shouting", "  Y \n", exitOK, true},
		{"no", "no\n", exitFailure, false},
		{"empty line", "\n", exitFailure, false},
		{"something else", "yes please\n", exitFailure, false},
		{"end of input", "\x04", exitFailure, false}, // Ctrl-D
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			user := f.user(t, "user@example.com")
			s, _ := f.session(t, sessionguard.NewSession{UserID: user})
			terminal, keyboard := openPTY(t)
			if _, err := keyboard.WriteString(tt.typed); err != nil {
				t.Fatal(err)
			}

			r := runCmd(t, dbEnv(f.pool), terminal, "sessions", "revoke", "--user", itoa(user), "--reason", "admin_revoke")
			if r.code != tt.code {
				t.Errorf("exit status %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			question := `End 1 active session of user ` + itoa(user) + ` with reason "admin_revoke"? Type yes to go on: `
			if !strings.HasPrefix(r.stderr, question) {
				t.Errorf("stderr does not start with the question: %q", r.stderr)
			}
			active, reason := f.endReason(t, s.ID)
			if tt.revoked != !active {
				t.Errorf("session active = %v after answering %q", active, tt.typed)
			}
			if tt.revoked {
				if reason != "admin_revoke" || !strings.Contains(r.stderr, "sessionguard: session revoked") {
					t.Errorf("reason %q, stderr %q", reason, r.stderr)
				}
			} else if !strings.Contains(r.stderr, "not confirmed: nothing was changed") || r.stdout != "" {
				t.Errorf("declined: stdout %q, stderr %q", r.stdout, r.stderr)
			}
		})
	}
}

// TestCleanupShortRetentionConfirm: on a terminal, a retention below the
// default deletes only after a yes.
func TestCleanupShortRetentionConfirm(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		typed   string
		code    int
		deleted bool
	}{
		{"yes\n", exitOK, true},
		{"\n", exitFailure, false},
	} {
		t.Run(strings.TrimSpace(tt.typed), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s, _ := f.session(t, sessionguard.NewSession{UserID: f.user(t, "user@example.com")})
			f.exec(t, `UPDATE sessions SET is_active = false, revoke_reason = 'logout', revoked_at = CURRENT_TIMESTAMP - interval '1 hour',
				ended_at = CURRENT_TIMESTAMP - interval '1 hour' WHERE id = $1`, s.ID)
			terminal, keyboard := openPTY(t)
			if _, err := keyboard.WriteString(tt.typed); err != nil {
				t.Fatal(err)
			}
			r := runCmd(t, dbEnv(f.pool), terminal, "cleanup", "--retention", "1m")
			if r.code != tt.code || !strings.HasPrefix(r.stderr, "Delete every session row that ended more than 1m0s ago (the default keeps 2160h0m0s)? Type yes to go on: ") {
				t.Errorf("exit status %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			var n int
			if err := f.pool.QueryRow(t.Context(), "SELECT count(*) FROM sessions WHERE id = $1", s.ID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if deleted := n == 0; deleted != tt.deleted {
				t.Errorf("answering %q: row deleted %v, want %v", tt.typed, deleted, tt.deleted)
			}
		})
	}
}

// openPTY opens a pseudo-terminal: what the command reads (the terminal) and
// where the test types (the keyboard).
func openPTY(t *testing.T) (terminal, keyboard *os.File) {
	t.Helper()
	keyboard, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { keyboard.Close() })
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, keyboard.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatalf("TIOCGPTN: %v", errno)
	}
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, keyboard.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatalf("TIOCSPTLCK: %v", errno)
	}
	terminal, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the terminal side: %v", err)
	}
	t.Cleanup(func() { terminal.Close() })
	return terminal, keyboard
}

// TestSessionsRevokeInterrupted: a Ctrl-C (the context ending) while the
// command waits for an answer ends it without revoking.
func TestSessionsRevokeInterrupted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.user(t, "user@example.com")
	s, _ := f.session(t, sessionguard.NewSession{UserID: user})
	terminal, _ := openPTY(t)

	ctx, cancel := context.WithCancel(t.Context())
	env := dbEnv(f.pool)
	var stdout bytes.Buffer
	var stderr lockedBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"sessions", "revoke", "--user", itoa(user), "--reason", "admin_revoke"},
			terminal, &stdout, &stderr, func(k string) string { return env[k] })
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stderr.String(), "Type yes to go on"); {
		if time.Now().After(deadline) {
			t.Fatalf("no question after 30s; stderr %q", stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // asked, then nobody answers
	}
	cancel()
	if code := <-done; code != exitFailure {
		t.Errorf("exit status %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr.String(), "interrupted: nothing was changed") {
		t.Errorf("stderr %q", stderr.String())
	}
	if active, _ := f.endReason(t, s.ID); !active {
		t.Error("the session was revoked")
	}
}

// lockedBuffer is a bytes.Buffer one goroutine writes while another reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
