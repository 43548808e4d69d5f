package middleware

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type storeCtxKey struct{}

// A store call's context behaves as context.WithTimeout's does, whether or
// not the store waits on it; only waiting arms the timer.
func TestStoreContextIsWithTimeout(t *testing.T) {
	const long = time.Hour
	tests := []struct {
		name    string
		timeout time.Duration
		parent  func(t *testing.T) context.Context
		wait    bool // call Done before checking
		wantErr error
	}{
		{"running, never waited on", long, bg, false, nil},
		{"running, waited on", long, bg, true, nil},
		{"deadline passed, never waited on", time.Nanosecond, bg, false, context.DeadlineExceeded},
		{"deadline passed, waited on", time.Nanosecond, bg, true, context.DeadlineExceeded},
		{"parent ended, never waited on", long, cancelled, false, context.Canceled},
		{"parent ended, waited on", long, cancelled, true, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			ctx := withStoreTimeout(tt.parent(t), tt.timeout)
			defer ctx.stop()
			if tt.timeout == time.Nanosecond {
				time.Sleep(time.Millisecond)
			}
			if tt.wait {
				select {
				case <-ctx.Done():
					if tt.wantErr == nil {
						t.Fatal("Done closed while running")
					}
				case <-time.After(10 * time.Millisecond):
					if tt.wantErr != nil {
						t.Fatal("Done not closed")
					}
				}
			}
			if err := ctx.Err(); err != tt.wantErr {
				t.Errorf("Err() = %v, want %v", err, tt.wantErr)
			}
			if cause := context.Cause(ctx); cause != tt.wantErr {
				t.Errorf("Cause = %v, want %v", cause, tt.wantErr)
			}
			if (ctx.armed != nil) != tt.wait {
				t.Errorf("timer armed: %v, want %v (only by Done)", ctx.armed != nil, tt.wait)
			}
			d, ok := ctx.Deadline()
			if !ok || d.Before(start.Add(tt.timeout)) || d.After(time.Now().Add(tt.timeout)) {
				t.Errorf("Deadline() = %v, %v; want the call's start + %v", d, ok, tt.timeout)
			}
			if got := ctx.Value(storeCtxKey{}); got != "parent's" {
				t.Errorf("Value = %v, want the parent's", got)
			}
		})
	}
}

func bg(*testing.T) context.Context {
	return context.WithValue(context.Background(), storeCtxKey{}, "parent's")
}

func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(bg(t))
	cancel()
	return ctx
}

// A store that waits is bounded: Done closes at the deadline, or when the
// request's context ends first; a context derived from it ends with it.
func TestStoreContextEndsAWait(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		ctx := withStoreTimeout(context.Background(), 20*time.Millisecond)
		defer ctx.stop()
		child, cancel := context.WithCancel(ctx)
		defer cancel()
		waitDone(t, child.Done(), time.Second)
		if !errors.Is(child.Err(), context.DeadlineExceeded) || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Errorf("Err: child %v, store %v; want DeadlineExceeded", child.Err(), ctx.Err())
		}
	})
	t.Run("request ended", func(t *testing.T) {
		parent, end := context.WithCancel(context.Background())
		ctx := withStoreTimeout(parent, time.Hour)
		defer ctx.stop()
		done := ctx.Done()
		end()
		waitDone(t, done, time.Second)
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err() = %v, want Canceled", ctx.Err())
		}
	})
	t.Run("earlier parent deadline", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		pd, _ := parent.Deadline()
		ctx := withStoreTimeout(parent, time.Hour)
		defer ctx.stop()
		if d, _ := ctx.Deadline(); !d.Equal(pd) {
			t.Errorf("Deadline() = %v, want the parent's %v", d, pd)
		}
		waitDone(t, ctx.Done(), time.Second)
	})
}

// After the call returns the context is Canceled, as after WithTimeout's
// cancel, and an armed timer is released.
func TestStoreContextStop(t *testing.T) {
	for _, armed := range []bool{false, true} {
		ctx := withStoreTimeout(context.Background(), time.Hour)
		if armed {
			_ = ctx.Done()
		}
		ctx.stop()
		waitDone(t, ctx.Done(), time.Second)
		if ctx.Err() != context.Canceled {
			t.Errorf("armed %v: Err() after stop = %v, want Canceled", armed, ctx.Err())
		}
	}
}

// Done may be called from several goroutines at once (a store and the
// driver watching the call): one timer, one channel.
func TestStoreContextConcurrentDone(t *testing.T) {
	ctx := withStoreTimeout(context.Background(), time.Hour)
	defer ctx.stop()
	chans := make([]<-chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range chans {
		wg.Go(func() { chans[i] = ctx.Done() })
	}
	wg.Wait()
	for _, c := range chans[1:] {
		if c != chans[0] {
			t.Fatal("Done returned different channels")
		}
	}
}

// Unarmed, the bound costs one allocation and no timer.
func TestStoreContextUnarmedAllocatesOnce(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := testing.AllocsPerRun(1000, func() {
		ctx := withStoreTimeout(parent, time.Second)
		_ = ctx.Err()
		ctx.stop()
	})
	if got != 1 {
		t.Errorf("%v allocations, want 1", got)
	}
}

func waitDone(t *testing.T, done <-chan struct{}, within time.Duration) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(within):
		t.Fatalf("Done not closed within %v", within)
	}
}
