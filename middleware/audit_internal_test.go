package middleware

import (
	"log/slog"
	"testing"
	"time"
)

// outageLog paces by the wall clock, which can step back (NTP, a VM
// resumed). A step back must not hold the Error lines at Info until the
// clock has caught up again: an outage in that hour would never reach Error.
func TestOutageLogAfterTheClockStepsBack(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	var o outageLog
	for _, step := range []struct {
		name string
		now  time.Time
		want slog.Level
	}{
		{"the first failure", t0, slog.LevelError},
		{"half a second later", t0.Add(500 * time.Millisecond), slog.LevelInfo},
		{"the clock stepped back an hour", t0.Add(-time.Hour), slog.LevelError},
		{"a tenth of a second after that", t0.Add(-time.Hour + 100*time.Millisecond), slog.LevelInfo},
		{"a second after that", t0.Add(-time.Hour + 1100*time.Millisecond), slog.LevelError},
	} {
		if level, _ := o.level(step.now); level != step.want {
			t.Errorf("%s: %v, want %v", step.name, level, step.want)
		}
	}
}
