package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// blockReplica stops the store's read replica from answering "valid" on
// this instance: a notification says a session ended, at a WAL position the
// listener has yet to ask for. A no-op without a ReadPool.
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

// fenceReplica raises the store's replica fence to where the primary's WAL
// ends now, asked on the listener's connection after the notifications
// handled so far (or, at connect, after LISTEN took effect, which covers
// what was missed while disconnected), then lifts the block. On error the
// block stays until a later call succeeds: the connection is in doubt.
func (c *Cache) fenceReplica(ctx context.Context, conn *pgx.Conn, askedAt time.Time) error {
	if c.store.readPool == nil {
		return nil
	}
	_, lsn, err := c.store.primaryPosition(ctx, conn)
	if err != nil {
		return err
	}
	c.store.fence.raise(lsn, askedAt)
	c.unblockReplica()
	return nil
}
