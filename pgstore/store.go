package pgstore

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionguard/sessionguard"
)

// Default timeouts, the seed's: 4 hours idle, 8 hours absolute.
const (
	DefaultIdleTimeout     = 4 * time.Hour
	DefaultAbsoluteTimeout = 8 * time.Hour
	// DefaultTouchInterval bounds how often Validate writes last_activity_at
	// for one session.
	DefaultTouchInterval = 60 * time.Second
)

// Config tunes a Store. The zero value is ready to use.
type Config struct {
	// TouchInterval is the least time between two writes of a session's
	// last_activity_at by Validate. A busy session then costs one write per
	// interval instead of one per request; the price is that the idle clock
	// may start up to this interval early, never late. Default 60s; a
	// negative value writes on every Validate, as the seed's
	// update_session_activity does.
	TouchInterval time.Duration

	// Logger receives an audit line (Info level) for every revocation the
	// store makes; see Event. It never receives a token or a hash. Default
	// slog.Default(); slog.New(slog.DiscardHandler) silences it.
	Logger *slog.Logger
	// OnEvent, when set, is called with every event the store logs, on the
	// caller's goroutine: count them for metrics. It must be quick and must
	// not call back into the Store. Default nil.
	OnEvent func(sessionguard.Event)

	// ReadPool, when set, is a pool on a streaming hot standby of the
	// primary (pool's server) that takes the read path: Peek, and Validate
	// when no touch is due. Its answer counts only when the primary could not
	// answer otherwise (see replicaAnswer): a "valid" from it (or a session
	// of another app or tenant) only once it has replayed every revocation
	// this instance knows of, and revokes (and
	// re-authentications, which end the old token) through this Store wait
	// for it to replay them before returning, so a session
	// revoked through any instance is refused by every instance's Store as
	// soon as the revoke returns without sessionguard.ErrReplicaBehind (a Cache in front
	// of one forgets it when the notification arrives: Cache). Anything
	// else, a replica error included, goes to the primary, and so does
	// everything while its server is not in recovery (promoted) or its
	// transactions are not READ COMMITTED, PostgreSQL's default (a
	// default_transaction_isolation of repeatable read). The caller
	// owns and closes it. Default nil: the primary takes every query.
	ReadPool *pgxpool.Pool
	// ReplayWait bounds how long a revoke waits for ReadPool's replica to
	// replay it; past it, or when the caller's context ends first (a
	// Guard's StoreTimeout), the revoke returns sessionguard.ErrReplicaBehind, the
	// session ended all the same. Default 10s; unused without ReadPool,
	// where a negative one is refused all the same.
	ReplayWait time.Duration
	// ReplicaTimeout bounds each read of ReadPool. A replica that does not
	// answer in time (its replay holds a lock the primary took only for a
	// moment, as DDL or a vacuum truncation does; an overloaded or
	// unreachable server) would otherwise hold every check until the
	// caller's context ran out, a 503 though the primary answers at once:
	// past it, and on a replica error, the read goes to the primary, and
	// reads skip ReadPool for a second before they try it again. Default
	// DefaultReplicaTimeout; unused without ReadPool, where a negative one
	// is refused all the same.
	ReplicaTimeout time.Duration
	// MeterProvider, when set, receives the store's metrics: call latency,
	// touches, revocations, and the metrics of a Cache in front of the
	// store (README.md, "Metrics and traces"). Default nil: no metrics, and
	// nothing spent on them.
	MeterProvider metric.MeterProvider
	// TracerProvider, when set, receives a span per store call, with no
	// token or hash in it. Default nil: no spans.
	TracerProvider trace.TracerProvider

	// MaxBatch bounds how many concurrent lookups share one statement, and
	// how many touches. While two lookups are in flight, the lookups that
	// arrive wait and then go together (natural batching: an idle or lightly
	// loaded store sends each at once, a busy one pays one round trip per
	// batch); touches batch the
	// same way. Default DefaultMaxBatch; 1 sends every lookup and every
	// touch as its own statement.
	MaxBatch int
}

// DefaultReplayWait is Config.ReplayWait when it is zero.
const DefaultReplayWait = 10 * time.Second

// DefaultReplicaTimeout is Config.ReplicaTimeout when it is zero: a quarter
// of a Guard's default StoreTimeout, which leaves the primary the rest.
const DefaultReplicaTimeout = 500 * time.Millisecond

// Store reads and writes the sessions table through a pool the caller owns.
// It implements sessionguard.Store and is safe for concurrent use.
type Store struct {
	pool                 *pgxpool.Pool
	touchIntervalSeconds int32
	logger               *slog.Logger
	onEvent              func(sessionguard.Event)
	tel                  *telemetry                   // nil: no metrics, no spans
	reads                *batcher[string, readResult] // nil: batching off
	writes               *batcher[writeRequest, sessionguard.Status]

	readPool       *pgxpool.Pool // nil: no replica
	replayWait     time.Duration
	replicaTimeout time.Duration
	fence          replicaFence
	// primaryTimeline is the latest timeline the primary reported
	// (primaryPosition; 0 before it did): a replica's "valid" counts only
	// from one that has reached it (replicaAnswer).
	primaryTimeline atomic.Uint32
	// primaryTimelineAt (UnixNano) is when the read path last asked the
	// primary for it (learnPrimaryTimeline).
	primaryTimelineAt atomic.Int64
	replica           *replicaCounts // ReplicaStats
	// notReplicaUntil (UnixNano): a read found the ReadPool of no use (not
	// in recovery, not READ COMMITTED, failed or too slow); until then reads
	// skip it (replica_primary.go).
	notReplicaUntil   atomic.Int64
	notReplica        atomic.Bool   // it said so last time: logged once per change
	notReplicaRecheck time.Duration // how long reads skip it then: defaultNotReplicaRecheck
}

// Store and Cache are what a Guard calls (middleware.Config.Store).
var (
	_ sessionguard.Store = (*Store)(nil)
	_ sessionguard.Store = (*Cache)(nil)
)

// New returns a Store over pool. The caller keeps ownership of the pool and
// closes it after the Store is no longer used.
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("pgstore: new: %w: nil pool", ErrInvalidArgument)
	}
	interval := cfg.TouchInterval
	switch {
	case interval == 0:
		interval = DefaultTouchInterval
	case interval < 0:
		interval = 0
	case interval%time.Second != 0:
		return nil, fmt.Errorf("pgstore: new: %w: TouchInterval %v is not whole seconds", ErrInvalidArgument, cfg.TouchInterval)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	replayWait := cfg.ReplayWait
	switch {
	case replayWait == 0:
		replayWait = DefaultReplayWait
	case replayWait < 0:
		return nil, fmt.Errorf("pgstore: new: %w: ReplayWait %v is negative", ErrInvalidArgument, cfg.ReplayWait)
	}
	replicaTimeout := cfg.ReplicaTimeout
	switch {
	case replicaTimeout == 0:
		replicaTimeout = DefaultReplicaTimeout
	case replicaTimeout < 0:
		return nil, fmt.Errorf("pgstore: new: %w: ReplicaTimeout %v is negative", ErrInvalidArgument, cfg.ReplicaTimeout)
	}
	if cfg.ReadPool != nil && cfg.ReadPool == pool {
		return nil, fmt.Errorf("pgstore: new: %w: ReadPool is the primary pool", ErrInvalidArgument)
	}
	tel, err := newTelemetry("new", cfg.MeterProvider, cfg.TracerProvider)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, touchIntervalSeconds: int32(interval / time.Second), logger: logger, onEvent: cfg.OnEvent, tel: tel,
		readPool: cfg.ReadPool, replayWait: replayWait, replicaTimeout: replicaTimeout, replica: new(replicaCounts), notReplicaRecheck: defaultNotReplicaRecheck}
	if err := s.startBatching(cfg.MaxBatch); err != nil {
		return nil, err
	}
	// Last: the callback outlives a Store that New would refuse after it
	// (TestNewRefusedLeavesNothing).
	if err := observePools(tel.meter(), s); err != nil {
		return nil, invalid("new", "MeterProvider: %v", err)
	}
	return s, nil
}

// TouchInterval reports the effective touch interval (0: every Validate writes).
func (s *Store) TouchInterval() time.Duration {
	return time.Duration(s.touchIntervalSeconds) * time.Second
}
