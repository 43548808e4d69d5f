package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// handleBatch handles the notification payload first and every one pgx has
// already received behind it (while the last question to the primary was
// in flight, say), then, with a read replica, fences the replica past all
// of them with one question to the primary. A storm of revocations thus
// costs one round trip per batch, not one per session.
func (c *Cache) handleBatch(ctx context.Context, conn *pgx.Conn, first string) error {
	return c.handlePayloads(ctx, conn, c.received(ctx, conn, []string{first}))
}

// received appends to payloads those of the notifications pgx already
// holds, without waiting for more; health probes among them are recorded
// (heardHealth), not returned.
func (c *Cache) received(ctx context.Context, conn *pgx.Conn, payloads []string) []string {
	buffered, cancel := context.WithCancel(ctx)
	cancel() // already done: WaitForNotification returns only what pgx holds
	for {
		n, err := conn.WaitForNotification(buffered)
		if err != nil || n == nil {
			return payloads
		}
		if c.healthChannel != "" && n.Channel == c.healthChannel {
			c.heardHealth(n.Payload)
			continue
		}
		payloads = append(payloads, n.Payload)
	}
}

// handlePayloads evicts (and fences on the read replica) what the
// notifications' payloads name, then learns the primary's WAL position.
func (c *Cache) handlePayloads(ctx context.Context, conn *pgx.Conn, payloads []string) error {
	for _, p := range payloads {
		c.pendReplica(p) // before the eviction: no "valid" from the replica in between
	}
	c.evictNotified(payloads)
	// The question goes on the listening connection: bounded as a ping is,
	// so that a connection gone silent meanwhile is given up (and every
	// session fenced, Run) within an interval rather than when TCP gives up.
	fenceCtx, cancel := context.WithTimeout(ctx, c.cfg.HealthCheckInterval)
	defer cancel()
	return c.fenceReplica(fenceCtx, conn, time.Now(), false)
}

// pendReplica fences, on the store's read replica, the session a
// notification names (every session, for a payload without a hash) until
// fenceReplica has learned the revocation's WAL position. A no-op without
// a ReadPool.
func (c *Cache) pendReplica(payload string) {
	if c.store.readPool == nil {
		return
	}
	if validHash(payload) {
		c.store.fence.pend(payload)
		c.pending = append(c.pending, payload)
		return
	}
	c.blockReplica()
}

// blockReplica stops the store's read replica from answering "valid" for
// any session on this instance: a notification without a hash, or a
// listener that is down and may miss notifications. A no-op without a
// ReadPool.
func (c *Cache) blockReplica() {
	if c.store.readPool == nil || c.blocksReplica {
		return
	}
	c.store.fence.blocked.Add(1)
	c.blocksReplica = true
}

// unblockReplica lifts blockReplica's block.
func (c *Cache) unblockReplica() {
	if c.blocksReplica {
		c.store.fence.blocked.Add(-1)
		c.blocksReplica = false
	}
}

// fenceReplica asks the primary, on the listener's connection, where its
// WAL ends — past every revocation notified so far — and sets the fence of
// each pending session to that position. With all (at connect, after
// LISTEN took effect: it covers what was missed while disconnected), or
// while every session is blocked, it raises the global fence to it and
// lifts the block. On error everything stays fenced until a later call
// succeeds: the connection is in doubt.
func (c *Cache) fenceReplica(ctx context.Context, conn *pgx.Conn, askedAt time.Time, all bool) error {
	if c.store.readPool == nil {
		return nil
	}
	_, lsn, err := c.store.primaryPosition(ctx, conn)
	if err != nil {
		return err
	}
	for _, h := range c.pending {
		c.store.fence.resolve(h, lsn)
	}
	c.pending = c.pending[:0]
	if all || c.blocksReplica {
		c.store.fence.raise(lsn, askedAt)
		c.unblockReplica()
	}
	return nil
}
