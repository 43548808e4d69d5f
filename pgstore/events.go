package pgstore

import (
	"context"
	"log/slog"

	"github.com/sessionguard/sessionguard"
)

// emit logs e at Info level on the store's logger and passes it to the
// store's OnEvent hook.
func (s *Store) emit(ctx context.Context, e sessionguard.Event) {
	if e.ActorID == 0 {
		e.ActorID = sessionguard.ActorFrom(ctx)
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, e.Message(), e.Attrs()...)
	s.tel.event(ctx, e)
	if s.onEvent != nil {
		s.onEvent(e)
	}
}
