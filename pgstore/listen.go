package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// NotifyChannel is the channel on which migration 024's triggers announce,
// with the token hash as payload, that a session ended (or an empty payload:
// forget every session).
const NotifyChannel = "sessionguard_ended"

// ErrListenerNoSession means the listener's connection did not receive a
// notification sent through the Store's pool, though it was LISTENing: it is
// not a session of its own on the pool's database. Usually the listener goes
// through PgBouncer in transaction-pooling mode (where LISTEN takes effect on
// a server connection that goes back to the pool), or to another database.
// The cache stays empty (every call goes to the database) and Run keeps
// trying; the fix is CacheConfig.ListenConnString.
var ErrListenerNoSession = errors.New("pgstore: cache listener: a notification sent through the pool never reached the listening connection; " +
	"it is not a session on the pool's database (PgBouncer in transaction-pooling mode?): " +
	"set CacheConfig.ListenConnString to a direct connection to PostgreSQL")

// errListenerLeftBehind means a health check's notification, sent through
// the Store's pool, did not reach the listening connection, which had
// received the pool's notifications before: the pool now reaches another
// server (a failover that moved the pool, PgBouncer pointed at the new
// primary, while the old one still serves the listener), whose revocations
// the listener no longer hears.
var errListenerLeftBehind = errors.New("pgstore: cache listener: a health check's notification sent through the pool " +
	"did not reach the listening connection: the pool has moved to another server (a failover?); reconnecting")

// ListenerApplicationName is the application_name of the listener's
// connection, so that it can be told apart in pg_stat_activity.
const ListenerApplicationName = "sessionguard-listener"

// Run keeps the cache honest: on a connection of its own (not one of the
// pool's; CacheConfig.ListenConnString, by default the pool's settings), it
// LISTENs to NotifyChannel and evicts every session the database says has
// ended. Before the cache uses a new connection, a probe notification sent
// through the pool must arrive on it; through a transaction pooler it never
// does, and Run logs ErrListenerNoSession as an error and keeps the cache
// empty. The cache answers from memory only while this
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
	defer c.disconnected()
	defer c.unblockReplica()

	const firstDelay = 100 * time.Millisecond
	delay := firstDelay
	for {
		connectedAt, err := c.listenOnce(ctx)
		c.disconnected()
		c.blockReplica() // notifications may be missed until it reconnects
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The backoff starts again only after a connection that lasted as
		// long as the longest wait: one that dies soon after it connects
		// (a server or proxy that keeps dropping it) is retried ever more
		// slowly, not every 100ms, each time with a probe through the pool.
		if !connectedAt.IsZero() && time.Since(connectedAt) >= c.cfg.MaxReconnectDelay {
			delay = firstDelay
		}
		if errors.Is(err, ErrListenerNoSession) {
			// A configuration error: say so loudly, on every attempt.
			c.cfg.Logger.LogAttrs(ctx, slog.LevelError, "sessionguard: cache listener unusable; cache bypassed",
				slog.String("error", err.Error()), slog.Duration("retry_in", delay))
		} else {
			c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "sessionguard: cache listener disconnected; cache bypassed until it reconnects",
				slog.String("error", err.Error()), slog.Duration("retry_in", delay))
		}
		// Up to half the delay again at random, so that instances do not all
		// reconnect at the same moment after a database restart.
		wait := delay + mathrand.N(delay/2+1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		delay = min(2*delay, c.cfg.MaxReconnectDelay)
	}
}

// listenOnce connects, LISTENs and evicts until the connection fails or ctx
// ends. connectedAt is when the LISTEN took effect and was proven; zero if
// it never was.
func (c *Cache) listenOnce(ctx context.Context) (connectedAt time.Time, err error) {
	cfg := c.listen.Copy()
	cfg.OnNotification = nil // pgx then buffers notifications for WaitForNotification
	cfg.RuntimeParams["application_name"] = ListenerApplicationName
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(connectCtx, cfg)
	cancel()
	if err != nil {
		return time.Time{}, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
	}()

	start := time.Now()
	if err := c.setupExec(ctx, conn, "LISTEN "+NotifyChannel); err != nil {
		return time.Time{}, err
	}
	proof, err := c.probe(ctx, conn)
	if err != nil {
		return time.Time{}, err
	}
	health := newProbeChannel()
	if err := c.setupExec(ctx, conn, "LISTEN "+health); err != nil {
		return time.Time{}, err
	}
	c.healthChannel, c.healthHeard = health, 0
	c.healthCommitted.Store(0)
	probeCtx, stopProbes := context.WithCancel(ctx)
	probesDone := make(chan struct{})
	go func() { defer close(probesDone); c.sendHealthProbes(probeCtx, health) }()
	defer func() { stopProbes(); <-probesDone; c.healthChannel = "" }()
	// Anything cached before this point may have missed a notification.
	fenceCtx, cancel := context.WithTimeout(ctx, c.setupTimeout())
	err = c.fenceReplica(fenceCtx, conn, start, true)
	cancel()
	if err != nil {
		return time.Time{}, err
	}
	c.connected(proof)
	upSince := time.Now()
	c.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "sessionguard: cache listener connected")

	interval := c.cfg.HealthCheckInterval
	pinged := proof // when the last ping was sent; the probe counts as one
	for {
		// The next proof is due an interval after the last one, however
		// long the listener took since (a slow probe, ping or eviction on
		// a starved process): waiting a full interval from now would run
		// out the serving window of a healthy connection. A notification
		// proves the connection alive, but only a ping proves it still
		// hears the pool's server (proveByPing): one is due an interval
		// after the last, however busy the channel, so that a listener
		// left on an old primary that still sends notifications of its
		// own (split brain) is given up as soon as one left on a quiet
		// one (TestCacheListenerLeftBehindByAFailover).
		due := c.provenAt()
		if pinged.Before(due) {
			due = pinged
		}
		waitCtx, cancel := context.WithDeadline(ctx, due.Add(interval))
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil && n.Channel == health:
			c.heardHealth(n.Payload)
			continue
		case err == nil:
			// A proof as of its arrival, but recorded only once what
			// arrived is evicted: a cache whose window had run out must
			// not answer again from an entry a notification in hand ends.
			heard := time.Now()
			if err := c.handleBatch(ctx, conn, n.Payload); err != nil {
				return upSince, err
			}
			c.alive(heard)
			continue
		case ctx.Err() != nil:
			return upSince, ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed():
			return upSince, err
		}
		// An interval since the last proof or ping: prove the connection
		// still works, and still hears what the pool's server notifies.
		sent := time.Now()
		if err := c.proveByPing(ctx, conn, interval); err != nil {
			return upSince, err
		}
		pinged = sent
	}
}

// sendHealthProbes notifies channel through the store's pool once per
// health-check interval, each time with the next number, and records each
// one that committed, until ctx ends. A pool slow to answer (a loaded
// database) only delays them: proveByPing checks only those that committed.
// A probe (this one and the first, probe) must write nothing but its
// notification: PostgreSQL then commits it asynchronously, waiting neither
// for a WAL flush nor for a synchronous standby, which, down, would hang it
// (TestListenerProbesDoNotWaitForASynchronousStandby).
func (c *Cache) sendHealthProbes(ctx context.Context, channel string) {
	tick := time.NewTicker(c.cfg.HealthCheckInterval)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		if _, err := c.store.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, strconv.FormatUint(seq, 10)); err == nil {
			c.healthCommitted.Store(seq)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// heardHealth records a health probe's arrival on the listening connection.
func (c *Cache) heardHealth(payload string) {
	if seq, err := strconv.ParseUint(payload, 10, 64); err == nil && seq > c.healthHeard {
		c.healthHeard = seq
	}
}

// proveByPing proves the listening connection alive as of the ping's send.
// The notifications that arrived ahead of the ping's answer, which pgx now
// holds, are evicted before the proof is recorded, as a notification's
// own proof is: a cache whose serving window had run out must not answer
// again from an entry they end.
//
// With a healthChannel, every health probe that had committed through the
// pool when the ping was sent must have arrived by its answer (PostgreSQL
// sends a listening session what was committed before a query ahead of
// that query's answer): a listener left on a server the pool no longer
// reaches (a failover that moved the pool while the old primary still
// answers pings) is given up (errListenerLeftBehind) instead of keeping the
// cache answering "valid" for sessions revoked on the new one
// (TestCacheListenerLeftBehindByAFailover).
func (c *Cache) proveByPing(ctx context.Context, conn *pgx.Conn, interval time.Duration) error {
	sent := time.Now()
	committed := c.healthCommitted.Load()
	pingCtx, cancel := context.WithTimeout(ctx, interval)
	err := conn.Ping(pingCtx)
	cancel()
	if err != nil {
		return err
	}
	if payloads := c.received(ctx, conn, nil); len(payloads) > 0 {
		if err := c.handlePayloads(ctx, conn, payloads); err != nil {
			return err
		}
	}
	if c.healthChannel != "" && c.healthHeard < committed {
		return errListenerLeftBehind
	}
	c.alive(sent)
	return nil
}

// newProbeChannel is a channel name no other listener uses.
func newProbeChannel() string {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails
	return "sessionguard_probe_" + hex.EncodeToString(nonce[:])
}

// probe proves that conn receives what other sessions of the pool's database
// NOTIFY: it LISTENs on a channel of its own, sends a notification there
// through the pool, and waits for it (up to three health-check intervals
// after the send returned). Through a transaction pooler the LISTEN took
// effect on a server connection that went back to the pool, and the probe
// never arrives: ErrListenerNoSession. (A probe sent on the listening
// connection itself would prove nothing: the pooler may well hand that
// transaction the same server connection.) Notifications of NotifyChannel
// that arrive meanwhile are dropped: the cache is empty until the probe
// succeeds. The probe's arrival proves the connection alive as of sent,
// which the cache's serving window counts from: it may have waited long for
// one of the pool's connections.
func (c *Cache) probe(ctx context.Context, conn *pgx.Conn) (sent time.Time, err error) {
	channel := newProbeChannel()
	if err := c.setupExec(ctx, conn, "LISTEN "+channel); err != nil {
		return time.Time{}, err
	}
	sent = time.Now()
	if _, err := c.store.pool.Exec(ctx, "SELECT pg_notify($1, '')", channel); err != nil {
		return time.Time{}, fmt.Errorf("cache listener probe: notify through the pool: %w", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 3*c.cfg.HealthCheckInterval)
	defer cancel()
	for {
		n, err := conn.WaitForNotification(waitCtx)
		switch {
		case err == nil && n.Channel == channel:
			err = c.setupExec(ctx, conn, "UNLISTEN "+channel)
		case err == nil:
			continue
		case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			err = c.probeMissed(ctx, conn, channel)
		}
		if err != nil {
			return time.Time{}, err
		}
		return sent, nil
	}
}

// probeMissed tells apart the two reasons why a probe has not arrived: the
// listening connection went silent (a connection error, retried), or it is
// not a session of the pool's database (ErrListenerNoSession, a
// configuration error). A ping settles it: PostgreSQL sends a listening
// session the notifications committed before a query ahead of that query's
// answer, so a ping answered without the probe before it proves the latter.
// (Without the ping, a connection that went silent, or a probe slower than
// three intervals on a loaded machine, was reported as a configuration
// error.)
func (c *Cache) probeMissed(ctx context.Context, conn *pgx.Conn, channel string) error {
	pingCtx, cancel := context.WithTimeout(ctx, c.setupTimeout())
	err := conn.Ping(pingCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("cache listener probe: ping: %w", err)
	}
	buffered, cancel := context.WithCancel(ctx)
	cancel() // already done: WaitForNotification returns only what pgx holds
	for {
		n, err := conn.WaitForNotification(buffered)
		switch {
		case err != nil || n == nil:
			return ErrListenerNoSession
		case n.Channel == channel:
			return c.setupExec(ctx, conn, "UNLISTEN "+channel)
		}
	}
}

// setupTimeout bounds each statement that sets up a new listening
// connection (LISTEN, UNLISTEN, the replica fence): one that went silent
// meanwhile is given up, as the ping gives up an established one, instead of
// holding the listener (and the cache off) until TCP gives up, minutes
// later. Three intervals, the serving window: a connection slower than that
// could not keep the cache answering anyway.
func (c *Cache) setupTimeout() time.Duration { return 3 * c.cfg.HealthCheckInterval }

// setupExec runs sql on the connection being set up, within setupTimeout.
func (c *Cache) setupExec(ctx context.Context, conn *pgx.Conn, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, c.setupTimeout())
	defer cancel()
	_, err := conn.Exec(ctx, sql)
	return err
}

// evictNotified evicts what a batch of notifications names, in one
// critical section: each payload's hash, or everything for an empty
// (TRUNCATE) or unexpected payload. One lock for the batch, not one per
// payload: on a CPU-saturated process each wait for c.mu behind the hits
// took tens of milliseconds, and a ping's answer brings in every
// notification that queued up meanwhile, so evicting them one by one held
// the ping's proof for seconds and ran out the serving window of a healthy
// connection (TestListenerUnderLoad, with a ping every interval).
func (c *Cache) evictNotified(payloads []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range payloads {
		if !validHash(p) {
			c.forgetLocked() // covers the rest of the batch
			return
		}
		c.evictLocked(p)
	}
}
