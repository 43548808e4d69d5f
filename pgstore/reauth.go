package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/sessionguard/sessionguard"
)

// Reauthenticate rotates the token of a live session after its user proved
// who they are again (ASVS 7.2.4: a new token on re-authentication), and
// records the authentication: auth_time becomes the database's now (or
// r.AuthTime, when earlier), acr and amr become r.ACR and r.AMR, and the
// re-authentication counts as activity.
//
// It is the same row with a new session_token_hash: the session keeps its id,
// creation time, absolute expiry and everything that refers to it, and the
// old hash is unknown the moment the transaction commits (Validate reports
// StateUnknown for it). The sessions triggers announce the old hash on
// NOTIFY sessionguard_ended, so every Cache forgets it, and scs data stored
// under the old hash (SCSStore) moves to the new one.
//
// The old hash, and r.OldTwinHash when set, are retired (migration 031): as
// long as the session's row exists, ended or not, Create refuses them with
// sessionguard.ErrDuplicateToken, also when it runs concurrently with the
// rotation, so a stolen pre-rotation token never opens a new session. A
// r.NewTokenHash that was retired is refused the same way.
//
// It applies only when r.OldTokenHash belongs to the live session
// r.SessionID, and reports false otherwise (ended, expired, unknown, or
// rotated already by a concurrent re-authentication).
//
// Its transaction runs at READ COMMITTED whatever the pool's
// default_transaction_isolation: scs data an SCSStore Commit stored while
// the rotation waited for the session row moves to the new token, where a
// stricter level's snapshot missed it and left it under the old one
// (TestSCSRotationWaitingOnTheCommit).
//
// With Config.ReadPool it returns, as a revoke does, once the replica has
// replayed the rotation, so no instance's Store takes the old token from
// the replica; past ReplayWait it returns the new session, true, and
// sessionguard.ErrReplicaBehind: the rotation is done, and this instance refuses the old
// token until the replica has caught up.
func (s *Store) Reauthenticate(ctx context.Context, r sessionguard.Reauthentication) (_ sessionguard.SessionInfo, _ bool, err error) {
	ctx, call := s.tel.start(ctx, opReauthenticate)
	defer func() { call.end(ctx, err) }()
	const op = "reauthenticate"
	switch {
	case !validHash(r.OldTokenHash) || !validHash(r.NewTokenHash):
		return sessionguard.SessionInfo{}, false, invalid(op, "token hash is not 64 lowercase hex characters")
	case r.OldTokenHash == r.NewTokenHash:
		return sessionguard.SessionInfo{}, false, invalid(op, "the new token hash is the old one")
	case !validUUID(r.SessionID):
		return sessionguard.SessionInfo{}, false, invalid(op, "session id is not a UUID")
	case r.OldTwinHash != "" && (!validHash(r.OldTwinHash) || r.OldTwinHash == r.OldTokenHash || r.OldTwinHash == r.NewTokenHash):
		return sessionguard.SessionInfo{}, false, invalid(op, "the old token's twin hash is malformed or one of the others")
	}
	if err := sessionguard.CheckAuthentication(r.ACR, r.AMR); err != nil {
		return sessionguard.SessionInfo{}, false, invalid(op, "%v", err)
	}
	var info sessionguard.SessionInfo
	// READ COMMITTED: see the doc comment (the lock below may wait for an
	// scs Commit whose data the statements after it must see).
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		// Lock the session first, as SCSStore.CommitCtx does (sessions
		// row, then data row), so the two never wait on each other in
		// opposite orders.
		var id string
		if err := tx.QueryRow(ctx, `SELECT s.id::text FROM sessions s
			WHERE s.session_token_hash = $1 AND s.id = $2 AND `+liveSQL+` FOR UPDATE`,
			r.OldTokenHash, r.SessionID).Scan(&id); err != nil {
			return err
		}
		if r.OldTwinHash != "" {
			// Retired with the old hash by 031's trigger, in the
			// rotating statement.
			if _, err := tx.Exec(ctx, `SELECT set_config('sessionguard.retired_twin', $1, true)`, r.OldTwinHash); err != nil {
				return err
			}
		}
		// Before the hash changes: 026's trigger deletes whatever data is
		// still keyed by the old hash.
		if _, err := tx.Exec(ctx, `UPDATE sessionguard_scs_data SET token_hash = $2 WHERE token_hash = $1`,
			r.OldTokenHash, r.NewTokenHash); err != nil {
			return err
		}
		var err error
		info, err = scanInfo(tx.QueryRow(ctx, `UPDATE sessions
			SET session_token_hash = $2, auth_time = least(CURRENT_TIMESTAMP, $5::timestamptz), acr = $3, amr = $4,
			    last_activity_at = CURRENT_TIMESTAMP
			WHERE id = $1
			RETURNING `+infoColumns, id, r.NewTokenHash, nullIfEmpty(r.ACR), nullIfNone(r.AMR), nullIfZeroTime(r.AuthTime)))
		return err
	})
	s.endingFailed(err)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return sessionguard.SessionInfo{}, false, nil
	case err != nil:
		return sessionguard.SessionInfo{}, false, wrapErr(ctx, op, err)
	}
	// The old token ended as a revoked session does: with a read replica,
	// wait for it to replay the rotation (awaitReplay), which fences the old
	// hash here until then. An error then leaves the rotation committed.
	return info, true, s.awaitReplay(ctx, op, r.OldTokenHash)
}
