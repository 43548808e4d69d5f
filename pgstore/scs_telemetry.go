package pgstore

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
)

// SCSStore span attributes: what a call found or deleted, never which key
// it was asked about, nor the data.
const (
	attrFound   = attribute.Key("sessionguard.found")   // SCSStore.Find: the data was there
	attrDeleted = attribute.Key("sessionguard.deleted") // SCSStore.DeleteExpired: rows deleted
)

// endFind ends an SCSStore.Find call. Not found is an answer, not an error.
func (c storeCall) endFind(ctx context.Context, found bool, err error) {
	if c.span != nil && err == nil && c.span.IsRecording() {
		c.span.SetAttributes(attrFound.Bool(found))
	}
	c.end(ctx, err)
}

// endDeleted ends an SCSStore.DeleteExpired call that deleted n rows.
func (c storeCall) endDeleted(ctx context.Context, n int, err error) {
	if c.span != nil && err == nil && c.span.IsRecording() {
		c.span.SetAttributes(attrDeleted.Int(n))
	}
	c.end(ctx, err)
}
