package pgstore

import (
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// FuzzDecodeTextArray holds the row decoder's text[] (the AMR column) to
// pgx's own codec on any bytes a server could send: it never panics, and
// whatever it takes, pgx decodes to the same strings (nil for NULL, empty
// for an empty array). What it does not take goes to pgx's Scan anyway.
func FuzzDecodeTextArray(f *testing.F) {
	m := pgtype.NewMap()
	for _, v := range [][]string{nil, {}, {"pwd"}, {"pwd", "otp", ""}} {
		b, err := m.Encode(pgtype.TextArrayOID, pgtype.BinaryFormatCode, v, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1})
	field := pgconn.FieldDescription{Format: pgtype.BinaryFormatCode, DataTypeOID: pgtype.TextArrayOID}
	f.Fuzz(func(t *testing.T, v []byte) {
		var got []string
		if !decodeTextArray(field, v, &got) {
			return
		}
		var want []string
		if err := m.Scan(pgtype.TextArrayOID, pgtype.BinaryFormatCode, v, &want); err != nil {
			t.Fatalf("decoded %q from bytes pgx refuses: %v", got, err)
		}
		if !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("decoded %q (nil %v); pgx %q (nil %v)", got, got == nil, want, want == nil)
		}
	})
}

// FuzzDecodeTime holds the row decoder's timestamptz to pgx's codec: what
// it takes, pgx decodes to the same instant.
func FuzzDecodeTime(f *testing.F) {
	m := pgtype.NewMap()
	for _, v := range []time.Time{time.Unix(0, 0), time.Date(2026, 12, 1, 23, 0, 0, 123000, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		b, err := m.Encode(pgtype.TimestamptzOID, pgtype.BinaryFormatCode, v, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	field := pgconn.FieldDescription{Format: pgtype.BinaryFormatCode, DataTypeOID: pgtype.TimestamptzOID}
	f.Fuzz(func(t *testing.T, v []byte) {
		var got time.Time
		if !decodeTime(field, v, &got) {
			return
		}
		var want time.Time
		if err := m.Scan(pgtype.TimestamptzOID, pgtype.BinaryFormatCode, v, &want); err != nil {
			t.Fatalf("decoded %v from bytes pgx refuses: %v", got, err)
		}
		if !got.Equal(want) {
			t.Fatalf("decoded %v; pgx %v", got, want)
		}
	})
}
