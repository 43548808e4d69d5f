package pgstore

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// readColumnTypes are the SQL types of readColumns, in order.
var readColumnTypes = [numReadColumns]string{"bool", "varchar(50)", "text", "int4", "int4", "varchar(20)",
	"timestamptz", "timestamptz", "int4", "timestamptz", "timestamptz", "varchar(100)", "text[]", "timestamptz"}

// typicalRow is a row of readColumns as SQL literals: an active session of a
// tenant, with its authentication columns set.
var typicalRow = [numReadColumns]string{"true", "NULL", "'0b9c6f3e-51a4-4a55-9a0e-3c1c7c3f9a10'", "42", "7", "'control_panel'",
	"'2026-12-01 09:00:00.123456+00'", "'2026-12-01 17:12:08.654321+00'", "14400", "'2026-12-01 17:00:00+00'",
	"'2026-12-01 09:00:00.5+00'", "'urn:acr:mfa'", "ARRAY['pwd','otp']", "'2026-12-01 17:12:09.000001+00'"}

// probe scans a row as sessionRow.ScanRow does and records whether the
// decoder took it or left it to pgx.
type probe struct {
	row  sessionRow
	fast bool
}

func (p *probe) ScanRow(rows pgx.Rows) error {
	p.fast = p.row.decodeBinary(rows, rows.FieldDescriptions(), rows.RawValues())
	if p.fast {
		return nil
	}
	return p.row.ScanRow(rows)
}

// The decoder of readColumns gives what pgx's own Scan into scanTargets
// gives, value for value and error for error, in every query execution mode:
// every column NULL and not NULL, the edges of timestamptz and of text[],
// and it takes the rows it should (binary results of the usual values)
// itself. readBatchSQL's rows (hashedRow) likewise.
func TestRowDecoderMatchesPgx(t *testing.T) {
	t.Parallel()
	base := pgtest.NewPool(t)
	type rowCase struct {
		name string
		set  map[int]string // column index: SQL literal, over typicalRow
		fast bool           // decoded here, not by pgx, when results are binary
	}
	cases := []rowCase{
		{"typical", nil, true},
		{"ended, no tenant, no acr, no amr", map[int]string{0: "false", 1: "'logout'", 4: "NULL", 11: "''", 12: "NULL"}, true},
		{"tenant app", map[int]string{5: "'tenant_app'"}, true},
		{"another app type", map[int]string{5: "'other'"}, true},
		{"empty amr", map[int]string{12: "'{}'"}, true},
		{"amr to quote", map[int]string{12: `ARRAY['a,b', 'c"d', 'é', '', 'NULL', '{x}']`}, true},
		{"amr from index 0", map[int]string{12: "'[0:1]={a,b}'"}, true},
		{"amr with a NULL", map[int]string{12: "ARRAY['pwd', NULL]"}, false},
		{"amr of two dimensions", map[int]string{12: "'{{a,b},{c,d}}'"}, false},
		{"negative numbers", map[int]string{3: "-1", 4: "-2147483648", 8: "-1"}, true},
		{"before 1970", map[int]string{6: "'1969-12-31 23:59:59.999999+00'", 7: "'1900-01-01 00:00:00.000001+00'"}, true},
		{"before 2000", map[int]string{6: "'1999-12-31 23:59:59.5+00'"}, true},
		{"year 1", map[int]string{6: "'0001-01-01 00:00:00+00'"}, true},
		{"year 9999", map[int]string{9: "'9999-12-31 23:59:59.999999+00'"}, true},
		{"year 1 BC", map[int]string{6: "'0001-12-31 23:59:59+00 BC'"}, false},
		{"year 10000", map[int]string{9: "'10000-01-01 00:00:00+00'"}, false},
		{"infinity", map[int]string{9: "'infinity'"}, false},
		{"-infinity", map[int]string{6: "'-infinity'"}, false},
	}
	for i := range numReadColumns {
		// The columns a NULL is a value of: the rest fail, through pgx.
		nullable := i == 1 || i == 4 || i == 12
		cases = append(cases, rowCase{fmt.Sprintf("column %d NULL", i), map[int]string{i: "NULL"}, nullable})
	}
	// inUTC registers a timestamptz codec that scans into UTC, as an
	// application may: its rows are pgx's to decode.
	inUTC := func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}
	modes := []struct {
		name         string
		mode         pgx.QueryExecMode
		afterConnect func(context.Context, *pgx.Conn) error
		decoded      bool // the decoder takes the usual rows
	}{
		{"cache_statement", pgx.QueryExecModeCacheStatement, nil, true},
		{"cache_describe", pgx.QueryExecModeCacheDescribe, nil, true},
		{"describe_exec", pgx.QueryExecModeDescribeExec, nil, true},
		{"exec", pgx.QueryExecModeExec, nil, false},
		{"simple_protocol", pgx.QueryExecModeSimpleProtocol, nil, false},
		{"cache_statement with timestamptz in UTC", pgx.QueryExecModeCacheStatement, inUTC, false},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cfg := base.Config()
			cfg.ConnConfig.DefaultQueryExecMode = m.mode
			cfg.AfterConnect = m.afterConnect
			cfg.MaxConns = 1
			pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					cols := make([]string, numReadColumns)
					for i := range cols {
						v := typicalRow[i]
						if s, ok := c.set[i]; ok {
							v = s
						}
						cols[i] = "(" + v + ")::" + readColumnTypes[i]
					}
					query := "SELECT " + strings.Join(cols, ", ")
					compareRow(t, pool, query, c.fast && m.decoded)
					compareHashedRow(t, pool, "SELECT '"+strings.Repeat("ab", 32)+"'::varchar(64), "+strings.Join(cols, ", "))
				})
			}
			compareHashedRow(t, pool, "SELECT NULL::varchar(64), "+strings.Join(typicalRow[:], ", "))
		})
	}
}

// compareRow scans query's row through pgx's Scan into scanTargets and
// through the decoder, and fails unless both give the same row or the same
// error, and the decoder took the row when wantFast.
func compareRow(t *testing.T, pool *pgxpool.Pool, query string, wantFast bool) {
	t.Helper()
	ctx := context.Background()
	var want sessionRow
	wantErr := pool.QueryRow(ctx, query).Scan(want.scanTargets()...)
	var got probe
	gotErr := pool.QueryRow(ctx, query).Scan(&got)
	sameResult(t, want, wantErr, got.row, gotErr)
	if got.fast != wantFast {
		t.Errorf("decoded by the decoder: %v, want %v", got.fast, wantFast)
	}
}

// compareHashedRow is compareRow for a row of readBatchSQL.
func compareHashedRow(t *testing.T, pool *pgxpool.Pool, query string) {
	t.Helper()
	ctx := context.Background()
	var (
		wantHash string
		want     sessionRow
	)
	wantErr := pool.QueryRow(ctx, query).Scan(append([]any{&wantHash}, want.scanTargets()...)...)
	var got hashedRow
	gotErr := pool.QueryRow(ctx, query).Scan(&got)
	sameResult(t, want, wantErr, got.row, gotErr)
	if wantErr == nil && gotErr == nil && string(got.hash) != wantHash {
		t.Errorf("hash %q, want %q", got.hash, wantHash)
	}
}

func sameResult(t *testing.T, want sessionRow, wantErr error, got sessionRow, gotErr error) {
	t.Helper()
	switch {
	case (wantErr == nil) != (gotErr == nil):
		t.Fatalf("error %v, want %v", gotErr, wantErr)
	case wantErr != nil:
		if gotErr.Error() != wantErr.Error() {
			t.Errorf("error %q, want %q", gotErr, wantErr)
		}
	case !reflect.DeepEqual(got, want):
		t.Errorf("row\n%#v\nwant\n%#v", got, want)
	}
}
