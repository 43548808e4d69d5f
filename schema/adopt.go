package schema

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionguard/sessionguard"
)

// seedColumn is what adopting an existing sessions table requires of one of
// migration 022's columns. Teams' copies of 022 differ from it, and a
// difference that breaks the library, or changes what its answers mean, must
// stop the adoption rather than surface later as failing requests.
type seedColumn struct {
	name string
	want string // the type 022 gives it, as format_type writes it
	// also are other types (format_type without a length) shown to work as
	// well (TestMigrateChecksSessionsColumns).
	also []string
	// minChars is the least length of a character varying column; one
	// without a length always passes.
	minChars int
	why      string // why another type does not do
	notNull  bool
	// defaults are the DEFAULT expressions accepted, as pg_get_expr writes
	// them, 022's first; nil when the column needs none.
	defaults []string
}

// Why a timestamp must have a time zone: the one reason for all five.
const withTimeZone = "without one it is read in each connection's TimeZone, which moves expiry by the zone's offset"

// seedColumns are migration 022's columns of the sessions table.
var seedColumns = []seedColumn{
	{name: "id", want: "uuid", why: "pgstore inserts and reads a UUID", notNull: true},
	{name: "user_id", want: "integer", why: "get_session_status and sessionguard_check return it as INTEGER", notNull: true},
	{name: "session_token_hash", want: "character varying(64)", also: []string{"text"}, minChars: 64,
		why: "it holds the 64 hex digits of a token's SHA-256, compared as text", notNull: true},
	{name: "created_at", want: "timestamp with time zone", why: withTimeZone, notNull: true,
		defaults: []string{"CURRENT_TIMESTAMP", "now()"}},
	{name: "last_activity_at", want: "timestamp with time zone", why: withTimeZone, notNull: true,
		defaults: []string{"CURRENT_TIMESTAMP", "now()"}},
	{name: "absolute_expires_at", want: "timestamp with time zone", why: withTimeZone, notNull: true},
	{name: "ip_address", want: "character varying(45)", also: []string{"text"}, minChars: 45,
		why: "pgstore writes an address as text of up to 45 characters"},
	{name: "user_agent", want: "text", also: []string{"character varying"}, minChars: 512,
		why: "pgstore keeps up to 512 bytes of it"},
	{name: "tenant_id", want: "integer", why: "get_session_status and sessionguard_check return it as INTEGER"},
	{name: "is_active", want: "boolean", why: "it says whether the session is live", notNull: true,
		defaults: []string{"true"}},
	{name: "revoked_at", want: "timestamp with time zone", why: withTimeZone},
	{name: "revoke_reason", want: "character varying(50)", also: []string{"text"}, minChars: 50,
		why: "a reason has up to 50 characters"},
	{name: "ended_at", want: "timestamp with time zone", why: withTimeZone},
	{name: "app_type", want: "character varying(20)", minChars: 20,
		why: "sessionguard_check returns it as VARCHAR", notNull: true},
}

// seedFunctions are the functions migration 022 creates, with their signatures.
var seedFunctions = []string{
	"cleanup_expired_sessions()",
	"get_session_status(character varying)",
	"update_session_activity(character varying)",
	"revoke_session(character varying, character varying)",
	"revoke_all_user_sessions(integer, character varying)",
}

// otherApplicationSQL finds, when the sessions table the search path finds
// is another application's, the users (or tenants) table it references and
// the one of that name the search path finds instead, as schema.name; no
// row otherwise. Migrate runs it, and the tool forms' 022.
const otherApplicationSQL = `SELECT format('%I.%I', rn.nspname, r.relname), format('%I.%I', pn.nspname, p.relname)
FROM pg_constraint k
JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
JOIN pg_class p ON p.oid = to_regclass(r.relname::text) JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE k.conrelid = to_regclass('sessions') AND k.contype = 'f'
  AND r.relname IN ('users', 'tenants') AND p.oid <> r.oid
ORDER BY r.relname DESC LIMIT 1`

// libraryReasons are the reasons the library itself records in
// sessions.revoke_reason: the seed's six and ReasonSessionLimit.
var libraryReasons = []string{
	sessionguard.ReasonLogout, sessionguard.ReasonIdleTimeout, sessionguard.ReasonAbsoluteTimeout,
	sessionguard.ReasonAdminRevoke, sessionguard.ReasonPasswordChange, sessionguard.ReasonCleanupStale,
	sessionguard.ReasonSessionLimit,
}

// reasonChecksErrcode is the SQLSTATE reasonChecksBlock raises.
const reasonChecksErrcode = "SG022"

// reasonChecksBlock is a PL/pgSQL block that raises reasonChecksErrcode when
// a CHECK constraint of the sessions table on revoke_reason alone refuses a
// reason the library records: the seed's comment lists six reasons, and a
// team that made them a CHECK found every sign-in that a SessionLimit makes
// room for failing (session_limit, 23514). Each constraint's expression is
// evaluated on each reason. Migrate runs it as a DO statement, and the tool
// forms' 022 runs it inside their DO block.
var reasonChecksBlock = func() string {
	quoted := make([]string, len(libraryReasons))
	for i, r := range libraryReasons {
		quoted[i] = quoteLiteral(r)
	}
	return `DECLARE
    v_check RECORD;
    v_reason TEXT;
    v_ok BOOLEAN;
BEGIN
    FOR v_check IN
        SELECT k.conname::text AS name, pg_get_expr(k.conbin, k.conrelid) AS expr, format_type(a.atttypid, a.atttypmod) AS type
        FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
        WHERE k.conrelid = to_regclass('sessions') AND k.contype = 'c' AND cardinality(k.conkey) = 1
          AND a.attname = 'revoke_reason'
    LOOP
        FOREACH v_reason IN ARRAY ARRAY[` + strings.Join(quoted, ", ") + `] LOOP
            EXECUTE format('SELECT (%s) IS NOT FALSE FROM (SELECT %L::%s AS revoke_reason) AS sessions',
                           v_check.expr, v_reason, v_check.type) INTO v_ok;
            IF NOT v_ok THEN
                RAISE EXCEPTION USING ERRCODE = '` + reasonChecksErrcode + `', MESSAGE = format(
                    'revoke_reason has CHECK constraint %s, which refuses %L, a reason sessionguard records; allow it (and %s) or drop the constraint',
                    v_check.name, v_reason, array_to_string(ARRAY[` + strings.Join(quoted, ", ") + `], ', '));
            END IF;
        END LOOP;
    END LOOP;
END`
}()

// sessionsTableSQL reads two texts about the sessions table in the search
// path: the seed's columns it lacks, and what else is wrong with it (each
// column with its type, NOT NULL or default, and what 022 gives it; the
// token hash's UNIQUE constraint; a column of the team's that an insert must
// set), both empty when the table is 022's or one shown to work as well.
// Migrate runs it, and the tool forms' 022 runs it in their DO block.
var sessionsTableSQL = func() string {
	rows := make([]string, len(seedColumns))
	for i, c := range seedColumns {
		base, _, _ := strings.Cut(c.want, "(")
		types := []string{quoteLiteral(base)}
		for _, t := range c.also {
			types = append(types, quoteLiteral(t))
		}
		defaults := "NULL::text[]"
		if c.defaults != nil {
			quoted := make([]string, len(c.defaults))
			for j, d := range c.defaults {
				quoted[j] = quoteLiteral(d)
			}
			defaults = "ARRAY[" + strings.Join(quoted, ", ") + "]"
		}
		rows[i] = fmt.Sprintf("(%d, %s, %s, ARRAY[%s], %d, %s, %t, %s)", i, quoteLiteral(c.name), quoteLiteral(c.want),
			strings.Join(types, ", "), c.minChars, quoteLiteral(c.why), c.notNull, defaults)
	}
	names := make([]string, len(seedColumns))
	for i, c := range seedColumns {
		names[i] = quoteLiteral(c.name)
	}
	return `SELECT cols.missing, concat_ws('; ', nullif(cols.wrong, ''),
    -- Each token hash names one session (without the constraint a second
    -- session of the hash, in another app, answered for the first), and
    -- pgstore tells a taken one (ErrDuplicateToken) by the constraint's name.
    (SELECT 'session_token_hash has no UNIQUE constraint sessions_session_token_hash_key, want UNIQUE (session_token_hash) by that name (a token hash names one session, and pgstore reports a taken one by it)'
     WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute h ON h.attrelid = k.conrelid AND h.attnum = ALL (k.conkey)
        WHERE k.conrelid = to_regclass('sessions') AND k.contype = 'u' AND cardinality(k.conkey) = 1
          AND k.conname = 'sessions_session_token_hash_key' AND h.attname = 'session_token_hash')),
    -- Likewise each id: a session-id claim recorded twice would otherwise
    -- make two sessions of one id, or, by another name, a 503.
    (SELECT 'id has no PRIMARY KEY sessions_pkey, want PRIMARY KEY (id) by that name (a session id names one session, and pgstore reports a taken one by it)'
     WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute h ON h.attrelid = k.conrelid AND h.attnum = ALL (k.conkey)
        WHERE k.conrelid = to_regclass('sessions') AND k.contype = 'p' AND cardinality(k.conkey) = 1
          AND k.conname = 'sessions_pkey' AND h.attname = 'id')),
    -- pgstore's insert sets 022's columns and those of its own migrations
    -- (which have defaults or allow NULL), nothing else.
    (SELECT string_agg(format('%s is NOT NULL without a DEFAULT (pgstore''s insert does not set it)', x.attname), '; ' ORDER BY x.attnum)
     FROM pg_attribute x
     WHERE x.attrelid = to_regclass('sessions') AND x.attnum > 0 AND NOT x.attisdropped
       AND x.attnotnull AND NOT x.atthasdef AND x.attidentity = '' AND x.attgenerated = ''
       AND NOT x.attname = ANY (ARRAY[` + strings.Join(names, ", ") + `])))
FROM (SELECT
    coalesce(string_agg(c.name, ', ' ORDER BY c.n) FILTER (WHERE a.attnum IS NULL), ''),
    coalesce(string_agg(CASE
        WHEN NOT format_type(a.atttypid, NULL) = ANY (c.types)
             OR (a.atttypid = 'character varying'::regtype AND a.atttypmod >= 0 AND a.atttypmod - 4 < c.min_chars)
        THEN format('%s is %s, want %s (%s)', c.name, format_type(a.atttypid, a.atttypmod), c.want, c.why)
        WHEN c.not_null AND NOT a.attnotnull
        THEN format('%s allows NULL, want NOT NULL (022 declares it so, and the library reads it as never NULL)', c.name)
        WHEN c.defaults IS NOT NULL AND d.adbin IS NULL
        THEN format('%s has no DEFAULT, want DEFAULT %s (pgstore''s insert leaves it to the default)', c.name, c.defaults[1])
        WHEN c.defaults IS NOT NULL AND NOT pg_get_expr(d.adbin, d.adrelid) = ANY (c.defaults)
        THEN format('%s has DEFAULT %s, want DEFAULT %s (pgstore''s insert leaves it to the default)',
                    c.name, pg_get_expr(d.adbin, d.adrelid), c.defaults[1])
    END, '; ' ORDER BY c.n), '')
FROM (VALUES
    ` + strings.Join(rows, ",\n    ") + `
) AS c(n, name, want, types, min_chars, why, not_null, defaults)
LEFT JOIN pg_attribute a ON a.attrelid = to_regclass('sessions') AND a.attname = c.name
    AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
) AS cols(missing, wrong)`
}()

// adoptSeed records migration 022 as adopted when the database already has
// its sessions table: the table is the application's, and a tool's down keeps
// it. A table named sessions that lacks 022's columns, or whose columns the
// library cannot work with, stops it (ErrForeignSessionsTable). One of 022's
// functions that is missing (dropped or re-signed since) is created again
// from 022's text, and only that one: running the whole file again would
// build on the live table the indexes the team had dropped and replace the
// other functions the team had changed. It reports false when there is no
// sessions table: then 022 runs as usual.
func adoptSeed(ctx context.Context, conn querier, m Migration) (bool, error) {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('sessions') IS NOT NULL").Scan(&exists); err != nil {
		return false, fmt.Errorf("schema: look up the sessions table: %w", err)
	}
	if !exists {
		return false, nil
	}
	var missing, wrong string
	if err := conn.QueryRow(ctx, sessionsTableSQL).Scan(&missing, &wrong); err != nil {
		return false, fmt.Errorf("schema: inspect the sessions table: %w", err)
	}
	if missing != "" {
		return false, fmt.Errorf("%w: it lacks column(s) %s; rename the other table or point search_path elsewhere",
			ErrForeignSessionsTable, missing)
	}
	if wrong != "" {
		return false, fmt.Errorf("%w: %s; change the column(s) to what migration 022 creates, then migrate again",
			ErrForeignSessionsTable, wrong)
	}
	if _, err := conn.Exec(ctx, "DO $sessionguard_reasons$\n"+reasonChecksBlock+"\n$sessionguard_reasons$"); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == reasonChecksErrcode {
			return false, fmt.Errorf("%w: %s", ErrForeignSessionsTable, pgErr.Message)
		}
		return false, fmt.Errorf("schema: check the sessions table's CHECK constraints: %w", err)
	}
	restore, err := seedFunctionStatements(m)
	if err != nil {
		return false, err
	}
	for _, fn := range seedFunctions {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT to_regprocedure($1) IS NOT NULL", fn).Scan(&exists); err != nil {
			return false, fmt.Errorf("schema: look up function %s: %w", fn, err)
		}
		if exists {
			continue
		}
		if _, err := conn.Exec(ctx, restore[fn]); err != nil {
			return false, fmt.Errorf("schema: restore %s from %s: %w", fn, m.Name, err)
		}
	}
	_, err = conn.Exec(ctx,
		"INSERT INTO "+migrationsTable+" (version, name, checksum, adopted) VALUES ($1, $2, $3, true)",
		m.Version, m.Name, m.Checksum())
	if err != nil {
		return false, fmt.Errorf("schema: record adoption of %s: %w", m.Name, err)
	}
	return true, nil
}

// seedFunctionStatements maps each of seedFunctions to the statement of m
// (migration 022) that creates it.
func seedFunctionStatements(m Migration) (map[string]string, error) {
	stmts, _, err := splitStatements(m.SQL)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, m.Name)
	}
	byFunction := make(map[string]string, len(seedFunctions))
	for _, fn := range seedFunctions {
		name, _, _ := strings.Cut(fn, "(")
		for _, s := range stmts {
			if strings.Contains(s, "CREATE OR REPLACE FUNCTION "+name+"(") {
				byFunction[fn] = s
			}
		}
		if byFunction[fn] == "" {
			return nil, fmt.Errorf("schema: %s has no statement that creates %s", m.Name, fn)
		}
	}
	return byFunction, nil
}
