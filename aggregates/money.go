package aggregates

import (
	"regexp"
	"strings"
	"time"
)

// amountPattern is a non-negative decimal amount: up to 15 integer digits
// without leading zeros and up to 4 decimals.
var amountPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$`)

// activeCurrencies lists the active ISO 4217 codes (list one, 2025),
// separated by single spaces. Withdrawn codes (HRK, ANG, SLL, ZWL, CUC ...)
// are absent, as are XTS (testing) and XXX (no currency), which are not
// money.
const activeCurrencies = "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL " +
	"BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF " +
	"DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG " +
	"HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK " +
	"LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN " +
	"NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR " +
	"SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY " +
	"TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA " +
	"XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG"

// isCurrency reports whether c is an active ISO 4217 code in upper case.
func isCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return strings.Contains(" "+activeCurrencies+" ", " "+c+" ")
}

// ValidateMoney validates a money value and returns its canonical amount and
// currency. The amount is a non-negative decimal string (up to 15 integer
// digits, no leading zeros, up to 4 decimals; never a float), kept as given
// after trimming spaces. The currency is an active ISO 4217 code in upper
// case ("EUR"; "eur" is refused). Errors are Invalid *Error values naming
// amountField or currencyField.
func ValidateMoney(amountField, currencyField, amount, currency string) (string, string, error) {
	a := strings.TrimSpace(amount)
	switch {
	case a == "":
		return "", "", invalid(amountField, "is required")
	case strings.HasPrefix(a, "-"):
		return "", "", invalid(amountField, "must not be negative")
	case !amountPattern.MatchString(a):
		return "", "", invalid(amountField, "must be a decimal string such as \"125000.00\" (up to 15 digits and 4 decimals)")
	}
	c := strings.TrimSpace(currency)
	switch {
	case c == "":
		return "", "", invalid(currencyField, "is required")
	case strings.ToUpper(c) != c:
		return "", "", invalid(currencyField, "must be an upper-case ISO 4217 code such as \"EUR\"")
	case !isCurrency(c):
		return "", "", invalid(currencyField, "is not an active ISO 4217 currency code")
	}
	return a, c, nil
}

// sameAmount reports whether two canonical amounts are numerically equal
// ("100.5" and "100.50" are).
func sameAmount(a, b string) bool {
	trim := func(s string) string {
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	return trim(a) == trim(b)
}

// ValidateDate validates a calendar date in the form YYYY-MM-DD and returns
// it trimmed of spaces. An empty, malformed or impossible date (such as
// "2026-02-30") is an Invalid *Error naming field.
func ValidateDate(field, v string) (string, error) {
	d := strings.TrimSpace(v)
	if d == "" {
		return "", invalid(field, "is required")
	}
	t, err := time.Parse(time.DateOnly, d)
	if err != nil || t.Format(time.DateOnly) != d {
		return "", invalid(field, "must be a calendar date YYYY-MM-DD")
	}
	return d, nil
}
