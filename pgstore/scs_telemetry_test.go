package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// scsSecrets are what an SCSStore was asked about and given: none of it may
// reach a span.
type scsSecrets struct {
	texts []string // keys, hashes, the malformed key, the data, session ids
}

// driveSCSStore calls every SCSStore operation once or more, each outcome
// the telemetry tests count: Commit (stored, expired, malformed key: an
// error), Find (found, not found, malformed key, cancelled: an error), All,
// Delete (of a key with a live sessionguard session, which it ends) and
// DeleteExpired (one row).
func driveSCSStore(t *testing.T, f fixture, s *pgstore.SCSStore) scsSecrets {
	t.Helper()
	ctx := context.Background()
	signedIn, absent, expired := newSCSToken(t), newSCSToken(t), newSCSToken(t)
	_, info := f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = signedIn.hash })
	data := []byte("scs-data-" + rand.Text())
	malformed := "not-a-key-" + rand.Text()
	var secrets scsSecrets
	for _, tok := range []scsToken{signedIn, absent, expired} {
		secrets.texts = append(secrets.texts, tok.key, tok.hash)
	}
	secrets.texts = append(secrets.texts, string(data), base64.StdEncoding.EncodeToString(data), malformed, info.ID)

	mustCommit(t, s, signedIn.key, data, time.Now().Add(time.Hour))
	mustCommit(t, s, expired.key, data, time.Now().Add(-time.Second))
	if err := s.CommitCtx(ctx, malformed, data, time.Now().Add(time.Hour)); err == nil {
		t.Fatal("Commit with a malformed key succeeded")
	}
	for _, tt := range []struct {
		key   string
		found bool
	}{{signedIn.key, true}, {absent.key, false}, {malformed, false}} {
		if _, found := findOK(t, s, tt.key); found != tt.found {
			t.Fatalf("Find = %v, want %v", found, tt.found)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.FindCtx(cancelled, signedIn.key); err == nil {
		t.Fatal("Find with a cancelled context succeeded")
	}
	if all, err := s.AllCtx(ctx); err != nil || len(all) != 1 {
		t.Fatalf("All = %d entries, %v; want 1", len(all), err)
	}
	if err := s.DeleteCtx(ctx, signedIn.key); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	return secrets
}

// Every SCSStore call is timed in sessionguard.store.duration under its
// operation and outcome, beside the Store's own calls.
func TestSCSStoreMetrics(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{Logger: quiet, MeterProvider: m.Provider})
	s, err := pgstore.NewSCSStore(f.store, pgstore.SCSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	driveSCSStore(t, f, s)

	snap := m.Collect(t)
	for _, tt := range []struct {
		name  string
		attrs []attribute.KeyValue
		want  int64
	}{
		{"commits, the expired one included", op("scs_commit", "ok"), 2},
		{"a commit with a malformed key is an error", op("scs_commit", "error"), 1},
		{"finds: found, not found and malformed alike", op("scs_find", "ok"), 3},
		{"a cancelled find is an error", op("scs_find", "error"), 1},
		{"all", op("scs_all", "ok"), 1},
		{"delete", op("scs_delete", "ok"), 1},
		{"delete expired", op("scs_delete_expired", "ok"), 1},
		{"nothing else failed", op("scs_all", "error"), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := snap.Value("sessionguard.store.duration", tt.attrs...); got != tt.want {
				t.Errorf("sessionguard.store.duration%v = %d, want %d", tt.attrs, got, tt.want)
			}
		})
	}
}

// Every SCSStore call has its span, which says what the call found or
// deleted and never what it was asked about: no key, hash, session id or
// data in its name, attributes, events or status, and no attribute beyond
// the few the store sets (so no user id either).
func TestSCSSpansCarryNoKeyOrData(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	f := newFixture(t, pgstore.Config{Logger: quiet, TracerProvider: tp})
	s, err := pgstore.NewSCSStore(f.store, pgstore.SCSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	secrets := driveSCSStore(t, f, s)

	allowed := []string{"db.system.name", "sessionguard.found", "sessionguard.deleted", "exception.type", "exception.message"}
	var names []string
	found := map[string]int{} // Find spans by sessionguard.found
	var deleted, failedFind, failedCommit bool
	for _, sp := range exp.GetSpans() {
		names = append(names, sp.Name)
		if sp.SpanKind != trace.SpanKindClient {
			t.Errorf("span %q is of kind %v, want client", sp.Name, sp.SpanKind)
		}
		texts := []string{sp.Name, sp.Status.Description}
		attrs := slices.Clone(sp.Attributes)
		for _, e := range sp.Events {
			texts = append(texts, e.Name)
			attrs = append(attrs, e.Attributes...)
		}
		for _, a := range attrs {
			if !slices.Contains(allowed, string(a.Key)) {
				t.Errorf("span %q has attribute %s=%s, not one the store sets", sp.Name, a.Key, a.Value.String())
			}
			texts = append(texts, string(a.Key), a.Value.String())
			switch {
			case sp.Name == "pgstore.SCSStore.Find" && a.Key == "sessionguard.found":
				found[a.Value.String()]++
			case sp.Name == "pgstore.SCSStore.DeleteExpired" && a.Key == "sessionguard.deleted":
				deleted = a.Value.AsInt64() == 1
			}
		}
		for _, text := range texts {
			for _, secret := range secrets.texts {
				if strings.Contains(text, secret) {
					t.Errorf("span %q carries %q: %q", sp.Name, secret, text)
				}
			}
		}
		failed := sp.Status.Code.String() == "Error" && len(sp.Events) > 0
		failedFind = failedFind || (failed && sp.Name == "pgstore.SCSStore.Find")
		failedCommit = failedCommit || (failed && sp.Name == "pgstore.SCSStore.Commit" && strings.Contains(sp.Status.Description, "HashTokenInStore"))
	}
	for _, want := range []string{"pgstore.SCSStore.Find", "pgstore.SCSStore.Commit", "pgstore.SCSStore.Delete",
		"pgstore.SCSStore.All", "pgstore.SCSStore.DeleteExpired"} {
		if !slices.Contains(names, want) {
			t.Errorf("no span %q among %v", want, names)
		}
	}
	// found true once; false for the absent and the malformed key; the
	// cancelled Find has its error instead.
	if found["true"] != 1 || found["false"] != 2 || !deleted || !failedFind || !failedCommit {
		t.Errorf("spans lack the answers: found %v, deleted 1 %v, failed find %v, failed commit %v", found, deleted, failedFind, failedCommit)
	}
}
