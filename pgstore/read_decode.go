package pgstore

import (
	"encoding/binary"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sessionguard/sessionguard"
)

// Why a decoder of our own: pgx plans a scan for every destination of every
// result it scans, and for readColumns those plans made 18 of a lone
// lookup's 27 allocations (BenchmarkValidateSteadyState). readColumns always
// have the same types, so the common case, the binary results of pgx's
// cache_statement, cache_describe and describe_exec modes, is decoded here
// straight from the raw values. Anything else goes to pgx's own Scan into
// scanTargets, as before: text results (exec and simple-protocol modes), a
// type or value not handled below, a timestamptz codec registered with a
// location of its own. The decoding here only ever gives what pgx would
// (TestRowDecoderMatchesPgx holds the two to the same answers).

// ScanRow reads a row of readColumns: a pgx.RowScanner, for readSQL.
func (r *sessionRow) ScanRow(rows pgx.Rows) error {
	if r.decodeBinary(rows, rows.FieldDescriptions(), rows.RawValues()) {
		return nil
	}
	*r = sessionRow{}
	return rows.Scan(r.scanTargets()...)
}

// hashedRow is a row of readBatchSQL: the session's token hash, then
// readColumns. hash aliases the row's buffer, valid only until the next
// row: it is only compared, never kept.
type hashedRow struct {
	hash []byte
	row  sessionRow
}

// ScanRow reads a row of readBatchSQL: a pgx.RowScanner.
func (h *hashedRow) ScanRow(rows pgx.Rows) error {
	fields, values := rows.FieldDescriptions(), rows.RawValues()
	if len(fields) > 0 && isText(fields[0]) && values[0] != nil &&
		h.row.decodeBinary(rows, fields[1:], values[1:]) {
		h.hash = values[0]
		return nil
	}
	var hash string
	h.row = sessionRow{}
	if err := rows.Scan(append([]any{&hash}, h.row.scanTargets()...)...); err != nil {
		return err
	}
	h.hash = []byte(hash)
	return nil
}

// decodeBinary decodes values, the raw values of readColumns, when every one
// is in a form it knows, and reports whether it did; when it did not, r is
// partly written and the caller scans the row through pgx.
func (r *sessionRow) decodeBinary(rows pgx.Rows, fields []pgconn.FieldDescription, values [][]byte) bool {
	if len(fields) != numReadColumns || len(values) != numReadColumns || !defaultTimestamptz(rows) {
		return false
	}
	return decodeBool(fields[0], values[0], &r.active) &&
		decodeNullText(fields[1], values[1], &r.revokeReason) &&
		decodeText(fields[2], values[2], &r.id) &&
		decodeInt(fields[3], values[3], &r.userID) &&
		decodeNullInt(fields[4], values[4], &r.tenantID) &&
		decodeAppType(fields[5], values[5], &r.appType) &&
		decodeTime(fields[6], values[6], &r.createdAt) &&
		decodeTime(fields[7], values[7], &r.lastActivityAt) &&
		decodeInt4(fields[8], values[8], &r.idleSeconds) &&
		decodeTime(fields[9], values[9], &r.absoluteExpiresAt) &&
		decodeTime(fields[10], values[10], &r.authTime) &&
		decodeText(fields[11], values[11], &r.acr) &&
		decodeTextArray(fields[12], values[12], &r.amr) &&
		decodeTime(fields[13], values[13], &r.now)
}

// numReadColumns is how many columns readColumns has.
const numReadColumns = 14

// defaultTimestamptz reports whether the connection decodes timestamptz with
// pgx's default codec, times in the local zone; a codec registered with a
// ScanLocation of its own is left to pgx.
func defaultTimestamptz(rows pgx.Rows) bool {
	conn := rows.Conn()
	if conn == nil {
		return false
	}
	t, ok := conn.TypeMap().TypeForOID(pgtype.TimestamptzOID)
	if !ok {
		return false
	}
	c, ok := t.Codec.(*pgtype.TimestamptzCodec)
	return ok && c.ScanLocation == nil
}

// isText reports whether f is a text or varchar column. Its value is the
// string's bytes in either format (pgx asks for text results of these types
// even in the binary modes).
func isText(f pgconn.FieldDescription) bool {
	return (f.Format == pgtype.BinaryFormatCode || f.Format == pgtype.TextFormatCode) &&
		(f.DataTypeOID == pgtype.TextOID || f.DataTypeOID == pgtype.VarcharOID)
}

func decodeBool(f pgconn.FieldDescription, v []byte, dst *bool) bool {
	if f.Format != pgtype.BinaryFormatCode || f.DataTypeOID != pgtype.BoolOID || len(v) != 1 {
		return false
	}
	*dst = v[0] == 1
	return true
}

func decodeText(f pgconn.FieldDescription, v []byte, dst *string) bool {
	if !isText(f) || v == nil {
		return false
	}
	*dst = string(v)
	return true
}

func decodeNullText(f pgconn.FieldDescription, v []byte, dst **string) bool {
	if !isText(f) {
		return false
	}
	*dst = nil
	if v != nil {
		s := string(v)
		*dst = &s
	}
	return true
}

// decodeAppType is decodeText that answers the two app types with the
// constants' strings instead of a copy of each.
func decodeAppType(f pgconn.FieldDescription, v []byte, dst *string) bool {
	if !isText(f) || v == nil {
		return false
	}
	switch string(v) {
	case string(sessionguard.ControlPanel):
		*dst = string(sessionguard.ControlPanel)
	case string(sessionguard.TenantApp):
		*dst = string(sessionguard.TenantApp)
	default:
		*dst = string(v)
	}
	return true
}

// decodeInt reads an int4 or int8.
func decodeInt(f pgconn.FieldDescription, v []byte, dst *int64) bool {
	if f.Format != pgtype.BinaryFormatCode {
		return false
	}
	switch {
	case f.DataTypeOID == pgtype.Int4OID && len(v) == 4:
		*dst = int64(int32(binary.BigEndian.Uint32(v)))
	case f.DataTypeOID == pgtype.Int8OID && len(v) == 8:
		*dst = int64(binary.BigEndian.Uint64(v))
	default:
		return false
	}
	return true
}

func decodeNullInt(f pgconn.FieldDescription, v []byte, dst **int64) bool {
	if v == nil {
		*dst = nil
		return f.Format == pgtype.BinaryFormatCode && (f.DataTypeOID == pgtype.Int4OID || f.DataTypeOID == pgtype.Int8OID)
	}
	n := new(int64)
	if !decodeInt(f, v, n) {
		return false
	}
	*dst = n
	return true
}

func decodeInt4(f pgconn.FieldDescription, v []byte, dst *int32) bool {
	if f.Format != pgtype.BinaryFormatCode || f.DataTypeOID != pgtype.Int4OID || len(v) != 4 {
		return false
	}
	*dst = int32(binary.BigEndian.Uint32(v))
	return true
}

// A binary timestamptz is microseconds since 2000-01-01 UTC. Only the years
// 1 to 9999 are decoded here: the infinities and pgx's range checks at the
// far ends stay pgx's.
var (
	y2kUnixMicros    = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix() * 1_000_000
	minDecodedMicros = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()*1_000_000 - y2kUnixMicros
	endDecodedMicros = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()*1_000_000 - y2kUnixMicros
)

// decodeTime reads a timestamptz as pgx's default codec does: time.Unix,
// in the local zone.
func decodeTime(f pgconn.FieldDescription, v []byte, dst *time.Time) bool {
	if f.Format != pgtype.BinaryFormatCode || f.DataTypeOID != pgtype.TimestamptzOID || len(v) != 8 {
		return false
	}
	us := int64(binary.BigEndian.Uint64(v))
	if us < minDecodedMicros || us >= endDecodedMicros {
		return false
	}
	us += y2kUnixMicros
	*dst = time.Unix(us/1_000_000, us%1_000_000*1_000) // a negative remainder is fine: time.Unix normalizes it
	return true
}

// decodeTextArray reads a text[] as pgx does into a []string: NULL is nil,
// an empty array is empty and not nil. Arrays of more than one dimension or
// with NULL elements are left to pgx.
func decodeTextArray(f pgconn.FieldDescription, v []byte, dst *[]string) bool {
	if f.Format != pgtype.BinaryFormatCode || f.DataTypeOID != pgtype.TextArrayOID {
		return false
	}
	if v == nil {
		*dst = nil
		return true
	}
	if len(v) < 12 {
		return false
	}
	dims, hasNull, elem := binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:]), binary.BigEndian.Uint32(v[8:])
	v = v[12:]
	switch {
	case hasNull != 0 || elem != pgtype.TextOID:
		return false
	case dims == 0:
		if len(v) != 0 {
			return false
		}
		*dst = []string{}
		return true
	case dims != 1 || len(v) < 8:
		return false
	}
	n := int32(binary.BigEndian.Uint32(v))
	v = v[8:] // the length and the lower bound
	if n < 0 || int(n) > len(v)/4 {
		return false
	}
	out := make([]string, n)
	for i := range out {
		if len(v) < 4 {
			return false
		}
		size := int32(binary.BigEndian.Uint32(v))
		v = v[4:]
		if size < 0 || int(size) > len(v) {
			return false
		}
		out[i], v = string(v[:size]), v[size:]
	}
	if len(v) != 0 {
		return false
	}
	*dst = out
	return true
}
