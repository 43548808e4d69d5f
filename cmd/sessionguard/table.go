package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// newTable writes aligned columns separated by two spaces. Call Flush.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// row writes one table row; every cell goes through printable.
func row(w io.Writer, cells ...string) {
	for i, c := range cells {
		cells[i] = printable(c)
	}
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// printable makes text that came from a client (a user agent, an address)
// safe to print on an operator's terminal: a control character could move
// the cursor, rewrite earlier lines or set the window title, and a bidi
// override could reorder what the operator reads. Every rune that is not
// graphic is written as a Go escape (\x1b, \u202e); a tab too, which would
// break the table.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == unicode.ReplacementChar:
			b.WriteString(`\ufffd`)
		case unicode.IsGraphic(r) && r != '\u00a0':
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// shorten cuts s to at most n runes, the last one an ellipsis.
func shorten(s string, n int) string {
	if rs := []rune(s); len(rs) > n {
		return string(rs[:n-1]) + "…"
	}
	return s
}

// timestamp is t in UTC, to the second: the database's clock, unambiguous.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// tenant is a tenant id for a table: "-" for none.
func tenant(id int64) string {
	if id == 0 {
		return "-"
	}
	return fmt.Sprint(id)
}
