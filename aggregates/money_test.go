package aggregates

import (
	"errors"
	"testing"
)

func TestValidateMoney(t *testing.T) {
	tests := []struct {
		name             string
		amount, currency string
		wantAmount       string
		wantCurrency     string
		field            string // the field of the expected Invalid error, if any
	}{
		{"plain", "125000.00", "EUR", "125000.00", "EUR", ""},
		{"zero", "0", "USD", "0", "USD", ""},
		{"zero with decimals", "0.5", "JPY", "0.5", "JPY", ""},
		{"four decimals", "1.2345", "GBP", "1.2345", "GBP", ""},
		{"fifteen digits", "999999999999999.9999", "CHF", "999999999999999.9999", "CHF", ""},
		{"trimmed", " 42.10 ", " EUR ", "42.10", "EUR", ""},
		{"empty amount", "", "EUR", "", "", "amount"},
		{"blank amount", "  ", "EUR", "", "", "amount"},
		{"negative", "-1.00", "EUR", "", "", "amount"},
		{"leading zero", "0125", "EUR", "", "", "amount"},
		{"sixteen digits", "1000000000000000", "EUR", "", "", "amount"},
		{"five decimals", "1.23456", "EUR", "", "", "amount"},
		{"trailing dot", "1.", "EUR", "", "", "amount"},
		{"leading dot", ".5", "EUR", "", "", "amount"},
		{"exponent", "1e6", "EUR", "", "", "amount"},
		{"plus sign", "+1", "EUR", "", "", "amount"},
		{"thousands separator", "1,000.00", "EUR", "", "", "amount"},
		{"decimal comma", "1000,00", "EUR", "", "", "amount"},
		{"inner space", "1 000", "EUR", "", "", "amount"},
		{"empty currency", "1", "", "", "", "currency"},
		{"lower case currency", "1", "eur", "", "", "currency"},
		{"mixed case currency", "1", "Eur", "", "", "currency"},
		{"unknown currency", "1", "ABC", "", "", "currency"},
		{"withdrawn currency", "1", "HRK", "", "", "currency"},
		{"no-currency code", "1", "XXX", "", "", "currency"},
		{"two letters", "1", "EU", "", "", "currency"},
		{"four letters", "1", "EURO", "", "", "currency"},
		{"digits", "1", "978", "", "", "currency"},
		{"bad amount is reported before bad currency", "x", "eur", "", "", "amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, c, err := ValidateMoney("amount", "currency", tt.amount, tt.currency)
			if tt.field == "" {
				if err != nil || a != tt.wantAmount || c != tt.wantCurrency {
					t.Fatalf("got %q %q %v, want %q %q", a, c, err, tt.wantAmount, tt.wantCurrency)
				}
				return
			}
			var de *Error
			if !errors.As(err, &de) || de.Kind != Invalid || de.Field != tt.field {
				t.Fatalf("want Invalid %s, got %q %q %#v", tt.field, a, c, err)
			}
			if a != "" || c != "" {
				t.Fatalf("an error came with values %q %q", a, c)
			}
		})
	}
}

func TestValidateMoneyNamesTheGivenFields(t *testing.T) {
	_, _, err := ValidateMoney("opportunity.amount", "opportunity.currency", "1", "usd")
	var de *Error
	if !errors.As(err, &de) || de.Field != "opportunity.currency" {
		t.Fatalf("want an error naming opportunity.currency, got %v", err)
	}
}

func TestSameAmount(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"100", "100", true}, {"100", "100.00", true}, {"100.5", "100.50", true}, {"0", "0.0000", true},
		{"100", "10", false}, {"100.5", "100.05", false}, {"10", "100", false},
	} {
		if got := sameAmount(tt.a, tt.b); got != tt.same {
			t.Errorf("sameAmount(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

func TestValidateDate(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"2026-03-31", "2026-03-31", true},
		{" 2028-02-29 ", "2028-02-29", true},
		{"", "", false},
		{"2026-02-29", "", false},
		{"2026-02-30", "", false},
		{"2026-13-01", "", false},
		{"2026-3-1", "", false},
		{"26-03-01", "", false},
		{"2026/03/01", "", false},
		{"2026-03-01T00:00:00Z", "", false},
		{"tomorrow", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ValidateDate("expected_close_date", tt.in)
			if tt.ok {
				if err != nil || got != tt.want {
					t.Fatalf("got %q %v, want %q", got, err, tt.want)
				}
				return
			}
			var de *Error
			if !errors.As(err, &de) || de.Kind != Invalid || de.Field != "expected_close_date" || got != "" {
				t.Fatalf("want Invalid expected_close_date, got %q %#v", got, err)
			}
		})
	}
}
