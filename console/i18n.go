package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Languages the console speaks.
const (
	langEN = "en"
	langZH = "zh-Hans"
)

// languageOf picks the page language: the crm_lang cookie when set, else
// the first of the request's Accept-Language entries (by weight) the
// console speaks, else English.
func languageOf(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := supported(c.Value); ok {
			return l
		}
	}
	best, bestQ := langEN, -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l, ok := supported(tag); ok && q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// supported maps a language tag to one the console speaks.
func supported(tag string) (string, bool) {
	t := strings.ToLower(strings.TrimSpace(tag))
	switch {
	case t == "en" || strings.HasPrefix(t, "en-"):
		return langEN, true
	case t == "zh" || strings.HasPrefix(t, "zh-hans") || t == "zh-cn" || t == "zh-sg" || strings.HasPrefix(t, "zh-"):
		return langZH, true
	}
	return "", false
}

// translate returns the message in lang (English is the key itself).
func translate(lang, msg string) string {
	if lang == langZH {
		if s, ok := zhHans[msg]; ok {
			return s
		}
	}
	return msg
}

// currencySymbols are the symbols money is shown with; others show their
// ISO code.
var currencySymbols = map[string]map[string]string{
	langEN: {"EUR": "€", "USD": "$", "GBP": "£", "CNY": "CN¥", "JPY": "¥"},
	langZH: {"EUR": "€", "USD": "US$", "GBP": "£", "CNY": "¥", "JPY": "JP¥"},
}

// formatMoney formats a decimal string amount: grouped thousands, the
// currency's symbol before it.
func formatMoney(lang, amount, currency string) string {
	if amount == "" {
		return ""
	}
	neg := strings.HasPrefix(amount, "-")
	amount = strings.TrimPrefix(amount, "-")
	whole, frac, hasFrac := strings.Cut(amount, ".")
	out := groupDigits(whole)
	if hasFrac {
		out += "." + frac
	}
	sym, ok := currencySymbols[lang][currency]
	if !ok {
		sym = currency + " "
	}
	if neg {
		return "-" + sym + out
	}
	return sym + out
}

// formatTime formats a time in UTC for the language.
func formatTime(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if lang == langZH {
		return fmt.Sprintf("%d年%d月%d日 %02d:%02d:%02d UTC", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second())
	}
	return t.Format("2 Jan 2006, 15:04:05 UTC")
}

// formatDate formats a calendar date (YYYY-MM-DD) for the language.
func formatDate(lang, date string) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	if lang == langZH {
		return fmt.Sprintf("%d年%d月%d日", d.Year(), int(d.Month()), d.Day())
	}
	return d.Format("2 Jan 2006")
}

// formatMonth formats a YYYY-MM month for the language.
func formatMonth(lang, month string) string {
	d, err := time.Parse("2006-01", month)
	if err != nil {
		return month
	}
	if lang == langZH {
		return fmt.Sprintf("%d年%d月", d.Year(), int(d.Month()))
	}
	return d.Format("Jan 2006")
}

// formatPercent formats a ratio (0.5 → 50%).
func formatPercent(r float64) string {
	return strconv.FormatFloat(r*100, 'f', 1, 64) + "%"
}

// formatNumber groups an integer's thousands.
func formatNumber(n int64) string {
	if n < 0 {
		return "-" + groupDigits(strconv.FormatInt(-n, 10))
	}
	return groupDigits(strconv.FormatInt(n, 10))
}

// groupDigits puts a comma between each group of three digits.
func groupDigits(digits string) string {
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
