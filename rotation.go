package sessionguard

import "context"

// rotationKey is the context key of WithRotation.
type rotationKey struct{}

// WithRotation returns a copy of ctx saying that the session of tokenHash is
// getting a new token (a re-authentication) and lives on under it. A store
// that is told to retire tokenHash under ctx keeps the session: scs's
// RenewToken retires the old token through its store's Delete, which for
// any other retirement (sign-out, a replaced cookie) ends the session.
func WithRotation(ctx context.Context, tokenHash string) context.Context {
	return context.WithValue(ctx, rotationKey{}, tokenHash)
}

// RotationFrom returns the token hash WithRotation put in ctx, or "".
func RotationFrom(ctx context.Context) string {
	h, _ := ctx.Value(rotationKey{}).(string)
	return h
}
