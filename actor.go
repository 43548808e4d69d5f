package sessionguard

import "context"

// actorKey is the context key of WithActor.
type actorKey struct{}

// WithActor returns a copy of ctx saying that userID is the one acting, so
// that the revocations a Store makes with it record who made them
// (Event.ActorID): for instance the admin on an "end this user's sessions"
// page.
func WithActor(ctx context.Context, userID int64) context.Context {
	return context.WithValue(ctx, actorKey{}, userID)
}

// ActorFrom returns the user id WithActor put in ctx, or 0.
func ActorFrom(ctx context.Context) int64 {
	id, _ := ctx.Value(actorKey{}).(int64)
	return id
}
