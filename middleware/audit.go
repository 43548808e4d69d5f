package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sessionguard/sessionguard"
)

// emit logs e at level on the Guard's logger, with extra attributes, and
// passes it to Config.OnEvent. Every audit line of the middleware goes
// through here, so the log and the hook never disagree.
func (g *Guard) emit(ctx context.Context, level slog.Level, e sessionguard.Event, extra ...slog.Attr) {
	if g.cfg.OnEvent != nil {
		g.cfg.OnEvent(e)
	}
	g.metrics.event(ctx, e)
	if !g.cfg.Logger.Enabled(ctx, level) {
		return
	}
	g.cfg.Logger.LogAttrs(ctx, level, e.Message(), append(e.Attrs(), extra...)...)
}

// refused records a refusal that no session row stands behind and returns it.
func (g *Guard) refused(r *http.Request, e *RefusalError) error {
	return g.refusedStatus(r, e, sessionguard.Status{})
}

// refusedStatus records a refusal as an audit event and returns it. st is
// what the store reported, if it was asked: it names the session (id, user)
// without its token. The refusal that found the session past its idle or
// absolute timeout and recorded its end (Status.EndedNow) is an
// EventExpired, once per session; any other, later requests with the same
// token included, an EventRefused. Never recorded: the token, its hash, the
// cookie.
func (g *Guard) refusedStatus(r *http.Request, e *RefusalError, st sessionguard.Status) error {
	e.realm = g.cfg.Realm
	level := slog.LevelInfo
	switch {
	case errors.Is(e, ErrMissingToken), errors.Is(e, ErrCanceled):
		level = slog.LevelDebug
	}
	ev := sessionguard.Event{
		Kind:      sessionguard.EventRefused,
		Reason:    e.Reason,
		EndReason: e.EndReason,
		SessionID: st.SessionID,
		UserID:    st.UserID,
		TenantID:  st.TenantID,
		AppType:   g.cfg.AppType,
		IP:        g.cfg.ClientIP(r),
	}
	if st.EndedNow && (errors.Is(e, ErrIdleTimeout) || errors.Is(e, ErrAbsoluteTimeout)) {
		ev.Kind = sessionguard.EventExpired
	}
	if st.SessionID != "" {
		ev.Count = 1
	}
	extra := []slog.Attr{slog.Int("status", e.Status)}
	if errors.Is(e, ErrUnavailable) {
		var since slog.Attr
		level, since = g.outage.level(g.now())
		extra = append(extra, since)
	}
	if e.causeMsg != "" {
		extra = append(extra, slog.String("error", e.causeMsg))
	}
	g.emit(r.Context(), level, ev, extra...)
	return e
}

// refusedToken records that the token presented for cur's re-authentication
// or refresh was refused (reason: sessionguard.ReasonReauthenticationRefused
// or ReasonRefreshRefused; why: the refusal's text, free of the token): a
// failed authentication of a live session, which an audit must see. At
// Warn, not at Info as a request's refused token: the request carried a live
// session, so the failure is no stray token from the internet but its
// holder failing a step-up (a stolen session, or a provider that leaves out
// auth_time and fails every one), and only holders of live sessions can
// cause these lines.
func (g *Guard) refusedToken(r *http.Request, reason string, cur Session, why string) {
	g.emit(r.Context(), slog.LevelWarn, sessionguard.Event{Kind: sessionguard.EventRefused, Reason: reason, Count: 1,
		SessionID: cur.ID, UserID: cur.UserID, TenantID: cur.TenantID, AppType: cur.AppType, IP: g.cfg.ClientIP(r)},
		slog.String("error", why))
}

// outageLog paces the Error lines of store failures: the first failure of
// each second is logged at Error, the others at Info, so that a flood
// during an outage (which an attacker's random tokens, each a store call,
// can cause by exhausting the pool) keeps every audit line without filling
// the log at Error. Each Error line says how many failures were logged at
// Info since the one before it. Shared by a Guard and its WithDeny copies.
type outageLog struct {
	next  atomic.Int64 // UnixNano before which failures are logged at Info
	quiet atomic.Int64 // failures logged at Info since the last Error line
}

// level is the level of a store failure's line at now, with the attribute
// that counts the failures logged at Info since the last Error line. A now
// more than a second before next means the wall clock stepped back: the
// pacing starts again rather than keep Error lines away until the clock
// has caught up.
func (o *outageLog) level(now time.Time) (slog.Level, slog.Attr) {
	t, next := now.UnixNano(), o.next.Load()
	if (t >= next || next-t > int64(time.Second)) && o.next.CompareAndSwap(next, t+int64(time.Second)) {
		return slog.LevelError, slog.Int64("failures_since_last_error", o.quiet.Swap(0))
	}
	return slog.LevelInfo, slog.Int64("failures_since_last_error", o.quiet.Add(1))
}
