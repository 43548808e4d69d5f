package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// logFailure logs a call that failed while serving r. A failure is an
// outage the team must look at (Error level), unless r's client left first
// and the call failed because of it (its context canceled): that is the
// client's doing, and is logged at Debug level, as the Guards log their
// "canceled" refusals. Both must hold, as for the Guards: a database that
// fails on its own is an outage even if the client has gone by then, and a
// deadline that passed is a database too slow, never the client's doing.
func (a *app) logFailure(r *http.Request, msg string, err error) {
	level := slog.LevelError
	if errors.Is(r.Context().Err(), context.Canceled) && errors.Is(err, context.Canceled) {
		level = slog.LevelDebug
	}
	a.log.Log(r.Context(), level, msg, "error", err)
}
