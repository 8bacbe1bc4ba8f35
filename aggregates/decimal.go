package aggregates

import (
	"math/big"
	"strings"
)

// Decimal arithmetic for money. Amounts travel as decimal strings (see
// ValidateMoney); computations run on exact rationals and are rounded only
// where a rule says so, to the currency's minor unit (MinorUnits).
//
// Rounding rules:
//   - a quote line's total is quantity × unit price × (100 − discount %) / 100,
//     rounded half-even (banker's rounding) to the currency's minor unit;
//     the quote's subtotal and total are sums of rounded line amounts, so
//     they add up exactly;
//   - equal installments are the total divided by their count, truncated
//     to the minor unit; the remainder goes on the last installment, so
//     the installments sum exactly to the total.

// zeroDecimalCurrencies have no minor unit; threeDecimalCurrencies have
// three decimals (ISO 4217).
const (
	zeroDecimalCurrencies  = " BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF "
	threeDecimalCurrencies = " BHD IQD JOD KWD LYD OMR TND "
	fourDecimalCurrencies  = " CLF UYW "
)

// MinorUnits is the number of decimals of a currency's minor unit: 0 for
// JPY and the like, 3 for BHD and the like, 4 for CLF and UYW, else 2.
func MinorUnits(currency string) int {
	c := " " + currency + " "
	switch {
	case strings.Contains(zeroDecimalCurrencies, c):
		return 0
	case strings.Contains(threeDecimalCurrencies, c):
		return 3
	case strings.Contains(fourDecimalCurrencies, c):
		return 4
	}
	return 2
}

// dec parses a validated decimal string; an unparsable one is zero (the
// callers validate first).
func dec(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return new(big.Rat)
	}
	return r
}

// toUnits rounds r half-even to places decimals and returns it in those
// units (r × 10^places, an integer).
func toUnits(r *big.Rat, places int) *big.Int {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(scale))
	q, m := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	// q is truncated toward zero; m has the sign of the numerator.
	twice := new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2))
	switch c := twice.Cmp(x.Denom()); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		if x.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// fromUnits formats units of 10^-places as a decimal string with exactly
// places decimals.
func fromUnits(u *big.Int, places int) string {
	neg := u.Sign() < 0
	s := new(big.Int).Abs(u).String()
	if places > 0 {
		if len(s) <= places {
			s = strings.Repeat("0", places-len(s)+1) + s
		}
		s = s[:len(s)-places] + "." + s[len(s)-places:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// roundMoney rounds r half-even to currency's minor unit and formats it.
func roundMoney(r *big.Rat, currency string) string {
	p := MinorUnits(currency)
	return fromUnits(toUnits(r, p), p)
}

// moneyUnits is a validated amount in currency's minor units, rounded
// half-even.
func moneyUnits(amount, currency string) *big.Int { return toUnits(dec(amount), MinorUnits(currency)) }

// formatMoney formats minor units of currency.
func formatMoney(u *big.Int, currency string) string { return fromUnits(u, MinorUnits(currency)) }

// CompareAmounts compares two decimal strings numerically: -1, 0 or +1.
func CompareAmounts(a, b string) int { return dec(a).Cmp(dec(b)) }

// hasMoreDecimals reports whether amount has more decimals than currency's
// minor unit allows (numerically: "10.50" in JPY has, "10.00" has not).
func hasMoreDecimals(amount, currency string) bool {
	r := dec(amount)
	p := MinorUnits(currency)
	back := new(big.Rat).SetFrac(toUnits(r, p), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil))
	return back.Cmp(r) != 0
}
