package sessionguard

import (
	"errors"
	"fmt"
)

// Limits on the recorded strength of an authentication. They keep acr and amr
// storable (sessions.acr is VARCHAR(100)) and safe to repeat in a
// WWW-Authenticate challenge (RFC 9470's acr_values) and in logs.
const (
	MaxACRBytes  = 100
	MaxAMRValues = 10
	MaxAMRBytes  = 32
)

const acrValueChars = "visible ASCII other than '\"' and '\\'"

// ErrInvalidAuthentication means an ACR or AMR value does not fit the limits
// above.
var ErrInvalidAuthentication = errors.New("sessionguard: invalid acr or amr")

// CheckAuthentication returns an error matching ErrInvalidAuthentication
// unless acr and amr can be recorded with a session: acr empty (not recorded) or 1 to MaxACRBytes bytes, and up to
// MaxAMRValues amr values of 1 to MaxAMRBytes bytes each, all of visible ASCII
// other than a quote or a backslash (no spaces: acr_values in RFC 9470 is a
// space-separated list of them).
func CheckAuthentication(acr string, amr []string) error {
	if len(acr) > MaxACRBytes || !authToken(acr, true) {
		return fmt.Errorf("%w: acr must be at most %d bytes of %s", ErrInvalidAuthentication, MaxACRBytes, acrValueChars)
	}
	if len(amr) > MaxAMRValues {
		return fmt.Errorf("%w: at most %d amr values", ErrInvalidAuthentication, MaxAMRValues)
	}
	for _, m := range amr {
		if m == "" || len(m) > MaxAMRBytes || !authToken(m, false) {
			return fmt.Errorf("%w: each amr value must be 1 to %d bytes of %s", ErrInvalidAuthentication, MaxAMRBytes, acrValueChars)
		}
	}
	return nil
}

func authToken(s string, emptyOK bool) bool {
	if s == "" {
		return emptyOK
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
