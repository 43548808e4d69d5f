package pgstore

import (
	"strings"
	"unicode/utf8"
)

// validHash reports whether h has the form the sessions table stores: the
// lowercase hex SHA-256 of a token. It runs on every lookup, so it reads
// a table per byte and branches once: two range comparisons per byte
// mispredict on random hex, and stood out in a profile of
// BenchmarkValidateSteadyState (its share was not recorded).
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	var bad byte
	for i := 0; i < len(h); i++ {
		bad |= notLowerHex[h[i]]
	}
	return bad == 0
}

// notLowerHex is 1 for every byte but 0-9 and a-f.
var notLowerHex = func() (t [256]byte) {
	for c := range t {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			t[c] = 1
		}
	}
	return t
}()

// validUUID reports whether id is a UUID in its canonical 36-character text form.
func validUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
				return false
			}
		}
	}
	return true
}

// validReason reports whether r fits sessions.revoke_reason.
func validReason(r string) bool {
	return r != "" && len(r) <= 50 && utf8.ValidString(r) && !strings.ContainsRune(r, 0)
}

// cleanText makes client-supplied text storable: PostgreSQL text refuses NUL
// bytes and invalid UTF-8, and a User-Agent header may carry either. The result
// is at most max bytes, cut on a rune boundary.
func cleanText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
