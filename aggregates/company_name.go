package aggregates

import (
	"strings"
	"unicode"
)

// NormalizeCompanyName is the key company names are compared by: lower
// case, punctuation dropped, spaces collapsed and a trailing legal form
// (Ltd, Inc, GmbH, ...) removed, so "Engines Ltd." and "engines" match.
func NormalizeCompanyName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		default:
			b.WriteRune(' ')
		}
	}
	words := strings.Fields(b.String())
	legal := map[string]bool{"ltd": true, "limited": true, "inc": true, "incorporated": true, "llc": true, "gmbh": true,
		"ag": true, "sa": true, "sas": true, "plc": true, "corp": true, "corporation": true, "co": true, "company": true, "bv": true, "srl": true}
	for len(words) > 1 && legal[words[len(words)-1]] {
		words = words[:len(words)-1]
	}
	return strings.Join(words, " ")
}
