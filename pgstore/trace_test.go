package pgstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// Every store call has its span, and no span says anything about the token
// or its hash: not in its name, attributes, events (a recorded error
// included) or status.
func TestSpansCarryNoTokenOrHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	f := newFixture(t, pgstore.Config{TracerProvider: tp, TouchInterval: -1, Logger: quiet})

	var tokens, hashes []string
	newSession := func() (string, sessionguard.SessionInfo) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		token := base64.RawURLEncoding.EncodeToString(raw)
		sum := sha256.Sum256([]byte(token))
		hash := hex.EncodeToString(sum[:])
		tokens, hashes = append(tokens, token), append(hashes, hash)
		info, err := f.store.Create(ctx, sessionguard.NewSession{TokenHash: hash, UserID: f.user, AppType: sessionguard.ControlPanel})
		if err != nil {
			t.Fatal(err)
		}
		return hash, info
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	h1, _ := newSession()
	_, info2 := newSession()
	_, info3 := newSession()
	_, keep := newSession()
	h5, _ := newSession()
	must(f.store.Validate(ctx, h1, sessionguard.Scope{}))
	must(f.store.Peek(ctx, h1, sessionguard.Scope{}))
	must(f.store.ListActive(ctx, f.user))
	must(f.store.ListAllActive(ctx, 10))
	must(f.store.CountActive(ctx, pgstore.Selection{UserID: f.user}))
	must(f.store.Stats(ctx, time.Hour))
	must(f.store.Revoke(ctx, h1, sessionguard.ReasonLogout))
	must(f.store.RevokeSession(ctx, info2.ID, sessionguard.ReasonAdminRevoke))
	must(f.store.RevokeUserSession(ctx, f.user, info3.ID, sessionguard.ReasonLogout))
	must(f.store.RevokeAllExcept(ctx, f.user, keep.ID, sessionguard.ReasonPasswordChange))
	must(f.store.RevokeAll(ctx, f.user, sessionguard.ReasonPasswordChange))
	must(f.store.RevokeEveryone(ctx, "breach"))
	must(f.store.Cleanup(ctx))
	c := newCleaner(t, f.pool, pgstore.CleanerConfig{TracerProvider: tp})
	must(c.RunOnce(ctx))
	// A failing call records its error on the span.
	short, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-short.Done()
	if _, err := f.store.Validate(short, h5, sessionguard.Scope{}); err == nil {
		t.Fatal("Validate past its deadline succeeded")
	}
	if _, err := f.store.Create(ctx, sessionguard.NewSession{TokenHash: h5, UserID: f.user, AppType: sessionguard.ControlPanel}); err == nil {
		t.Fatal("Create with a used hash succeeded")
	}

	spans := exp.GetSpans()
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
		var texts []string
		texts = append(texts, s.Name, s.Status.Description)
		for _, a := range s.Attributes {
			texts = append(texts, string(a.Key), a.Value.String())
		}
		for _, e := range s.Events {
			texts = append(texts, e.Name)
			for _, a := range e.Attributes {
				texts = append(texts, string(a.Key), a.Value.String())
			}
		}
		for _, text := range texts {
			for i := range tokens {
				if strings.Contains(text, tokens[i]) || strings.Contains(text, hashes[i]) {
					t.Errorf("span %q carries a token or hash: %q", s.Name, text)
				}
			}
		}
	}
	for _, want := range []string{"pgstore.Create", "pgstore.Validate", "pgstore.Peek", "pgstore.ListActive",
		"pgstore.ListAllActive", "pgstore.CountActive", "pgstore.Stats", "pgstore.Revoke", "pgstore.RevokeSession", "pgstore.RevokeUserSession",
		"pgstore.RevokeAllExcept", "pgstore.RevokeAll", "pgstore.RevokeEveryone", "pgstore.Cleanup",
		"pgstore.Cleaner.RunOnce"} {
		if !slices.Contains(names, want) {
			t.Errorf("no span %q among %v", want, names)
		}
	}
	// The answers are on the spans: what a trace is read for.
	var validated, failed, duplicate bool
	for _, s := range spans {
		attrs := map[string]string{}
		for _, a := range s.Attributes {
			attrs[string(a.Key)] = a.Value.String()
		}
		switch {
		case s.Name == "pgstore.Validate" && attrs["sessionguard.state"] == "valid" && attrs["sessionguard.touched"] == "true":
			validated = true
		case s.Name == "pgstore.Validate" && s.Status.Code.String() == "Error" && len(s.Events) > 0:
			failed = true
		case s.Name == "pgstore.Create" && strings.Contains(s.Status.Description, "already has a session"):
			duplicate = true
		}
	}
	if !validated || !failed || !duplicate {
		t.Errorf("spans lack the answers: valid and touched %v, failed validate %v, duplicate create %v", validated, failed, duplicate)
	}
}

// spanOfQueries is a pgx tracer that notes the span each query runs under.
type spanOfQueries struct {
	mu    sync.Mutex
	spans []trace.SpanID
}

func (q *spanOfQueries) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.spans = append(q.spans, trace.SpanFromContext(ctx).SpanContext().SpanID())
	return ctx
}

func (q *spanOfQueries) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A store call's span is a child of the caller's, and the call's queries run
// under it, where a pgx tracer (otelpgx, say) hangs its query spans.
func TestSpansNestUnderTheCaller(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	base := pgtest.NewPool(t)
	user := pgtest.CreateUser(t, base, "nest@example.com", 0)
	cfg := base.Config()
	queries := &spanOfQueries{}
	cfg.ConnConfig.Tracer = queries
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := pgstore.New(pool, pgstore.Config{TracerProvider: tp, TouchInterval: -1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	hash := newHash(t)
	if _, err := store.Create(t.Context(), sessionguard.NewSession{TokenHash: hash, UserID: user, AppType: sessionguard.ControlPanel}); err != nil {
		t.Fatal(err)
	}
	exp.Reset()
	queries.mu.Lock()
	queries.spans = nil
	queries.mu.Unlock()

	ctx, request := tp.Tracer("test").Start(t.Context(), "GET /")
	if _, err := store.Validate(ctx, hash, sessionguard.Scope{}); err != nil {
		t.Fatal(err)
	}
	request.End()
	var validate sdktrace.ReadOnlySpan
	for _, s := range exp.GetSpans().Snapshots() {
		if s.Name() == "pgstore.Validate" {
			validate = s
		}
	}
	if validate == nil {
		t.Fatal("no pgstore.Validate span")
	}
	if got, want := validate.Parent().SpanID(), request.SpanContext().SpanID(); got != want {
		t.Errorf("pgstore.Validate's parent = %v, want the request's span %v", got, want)
	}
	queries.mu.Lock()
	defer queries.mu.Unlock()
	if len(queries.spans) == 0 {
		t.Fatal("Validate ran no query")
	}
	for _, id := range queries.spans {
		if id != validate.SpanContext().SpanID() {
			t.Errorf("a query ran under span %v, want pgstore.Validate's %v", id, validate.SpanContext().SpanID())
		}
	}
}
