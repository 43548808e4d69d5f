package pgstore

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// NotifyChannel is the channel on which migration 024's triggers announce,
// with the token hash as payload, that a session ended (or an empty payload:
// forget every session).
const NotifyChannel = "sessionguard_ended"

// ListenerApplicationName is the application_name of the listener's
// connection, so that it can be told apart in pg_stat_activity.
const ListenerApplicationName = "sessionguard-listener"

// Run keeps the cache honest: on a connection of its own (not one of the
// pool's), it LISTENs to NotifyChannel and evicts every session the
// database says has ended. The cache answers from memory only while this
// connection is up and proven alive; when it drops, the cache is emptied and
// every call goes to the database until Run has reconnected (with backoff).
//
// Run returns only when ctx ends, with ctx's error; or at once with
// ErrCacheRunning if another Run of this Cache is going.
func (c *Cache) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrCacheRunning
	}
	defer c.running.Store(false)
	defer c.flush(false, time.Time{})
	defer c.unblockReplica()

	delay := 100 * time.Millisecond
	for {
		connected, err := c.listenOnce(ctx)
		c.flush(false, time.Time{})
		c.blockReplica() // notifications may be missed until it reconnects
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if connected {
			delay = 100 * time.Millisecond
		}
		c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "sessionguard: cache listener disconnected; cache bypassed until it reconnects",
			slog.String("error", err.Error()), slog.Duration("retry_in", delay))
		// Up to half the delay again at random, so that instances do not all
		// reconnect at the same moment after a database restart.
		wait := delay + rand.N(delay/2+1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		delay = min(2*delay, c.cfg.MaxReconnectDelay)
	}
}

// listenOnce connects, LISTENs and evicts until the connection fails or ctx
// ends. connected reports whether the LISTEN took effect.
func (c *Cache) listenOnce(ctx context.Context) (connected bool, err error) {
	cfg := c.store.pool.Config().ConnConfig.Copy()
	cfg.OnNotification = nil // pgx then buffers notifications for WaitForNotification
	cfg.RuntimeParams["application_name"] = ListenerApplicationName
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(connectCtx, cfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
	}()

	start := time.Now()
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return false, err
	}
	// Anything cached before this point may have missed a notification.
	if err := c.fenceReplica(ctx, conn, start, true); err != nil {
		return false, err
	}
	c.flush(true, start)
	c.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "sessionguard: cache listener connected")

	interval := c.cfg.HealthCheckInterval
	for {
		waitCtx, cancel := context.WithTimeout(ctx, interval)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			c.alive(time.Now())
			if err := c.handleBatch(ctx, conn, n.Payload); err != nil {
				return true, err
			}
			continue
		case ctx.Err() != nil:
			return true, ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed():
			return true, err
		}
		// Quiet for a whole interval: prove the connection still works.
		sent := time.Now()
		pingCtx, cancel := context.WithTimeout(ctx, interval)
		err = conn.Ping(pingCtx)
		cancel()
		if err != nil {
			return true, err
		}
		c.alive(sent)
	}
}

// handle evicts what one notification names.
func (c *Cache) handle(payload string) {
	if validHash(payload) {
		c.evict(payload)
		return
	}
	// Empty (TRUNCATE) or unexpected: forget everything, keep listening.
	c.mu.Lock()
	listening, aliveAt := c.listening, c.aliveAt
	c.mu.Unlock()
	c.flush(listening, aliveAt)
}
