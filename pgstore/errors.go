package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionguard/sessionguard"
)

var (
	// ErrInvalidArgument means a call's arguments are malformed (a token hash
	// that is not 64 lowercase hex characters, an unknown app type, ...).
	ErrInvalidArgument = errors.New("pgstore: invalid argument")
	// ErrUnknownUser means Create named a user id that the users table lacks.
	ErrUnknownUser = errors.New("pgstore: no such user")
	// ErrUnknownTenant means Create named a tenant id that the tenants table lacks.
	ErrUnknownTenant = errors.New("pgstore: no such tenant")
)

// duplicateTokenConstraints are the unique constraints whose violation means
// the token is taken: a session holds its hash; a re-authentication retired
// it (migration 031); or the session id, which a token's session-id claim
// names, has a session already, so the same token (or another token of
// that session) was recorded before.
var duplicateTokenConstraints = map[string]bool{
	"sessions_session_token_hash_key":  true,
	"sessionguard_retired_tokens_pkey": true,
	"sessions_pkey":                    true,
}

// wrapErr gives a driver error the package prefix and the form driverErr
// gives it.
func wrapErr(ctx context.Context, op string, err error) error {
	return fmt.Errorf("pgstore: %s: %w", op, driverErr(ctx, err))
}

// driverErr is err with a PostgreSQL error in its chain replaced.
// Constraint violations the caller can act on become sentinels, and their
// details (which would quote the offending values, a token hash among them)
// are dropped. A statement PostgreSQL cancelled (57014) after ctx ended is
// ctx's error: with pgx's CancelRequestContextWatcherHandler (README, "When
// a caller gives up") that is how a caller's leaving or deadline comes
// back, and the Guard counts a client that left as "canceled", not as an
// outage (TestCancelledCheckKeepsTheConnection). What wraps the PostgreSQL
// error is lost, so an error that must keep a sentinel of its own
// (sessionguard.ErrReplicaBehind) wraps driverErr's result, not the driver's
// error (TestRevokeWhoseReplicaWaitIsCancelledIsReplicaBehind).
func driverErr(ctx context.Context, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch {
	case pgErr.Code == queryCanceled && ctx.Err() != nil:
		return fmt.Errorf("%w (%s, SQLSTATE %s)", ctx.Err(), pgErr.Message, pgErr.Code)
	case pgErr.Code == "23505" && duplicateTokenConstraints[pgErr.ConstraintName]:
		return sessionguard.ErrDuplicateToken
	case pgErr.Code == "23503" && pgErr.ConstraintName == "sessions_user_id_fkey":
		return ErrUnknownUser
	case pgErr.Code == "23503" && pgErr.ConstraintName == "sessions_tenant_id_fkey":
		return ErrUnknownTenant
	}
	// The message and code say what went wrong; Detail and Where may quote
	// row values, so they stay out of the chain.
	return fmt.Errorf("%s (SQLSTATE %s)%s", pgErr.Message, pgErr.Code, hint(pgErr.Code))
}

// queryCanceled is PostgreSQL's SQLSTATE 57014: a cancel request, or
// statement_timeout.
const queryCanceled = "57014"

func invalid(op, format string, args ...any) error {
	return fmt.Errorf("pgstore: %s: %w: %s", op, ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// pgBouncerHint names the cause and the fix of a prepared-statement error:
// the library prepares no statement of its own, so one comes from pgx's
// statement cache (its default mode) on a server connection that a
// transaction pooler handed to several clients. It fails only once requests
// share server connections, first under production load
// (TestDefaultModeBehindPgBouncerSaysWhy).
const pgBouncerHint = "; behind PgBouncer in transaction mode? set the pool's DefaultQueryExecMode to " +
	"pgx.QueryExecModeCacheDescribe (README, \"Behind PgBouncer\")"

// hint is what a SQLSTATE's message needs added to be acted on, if anything.
func hint(code string) string {
	switch code {
	case "42P05", "26000": // duplicate_prepared_statement, invalid_sql_statement_name
		return pgBouncerHint
	}
	return ""
}
