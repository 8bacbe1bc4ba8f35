package readmodels

import (
	"slices"
	"testing"
)

func TestSearchText(t *testing.T) {
	words, bigrams := SearchText("Reset 无法登录 now, 登录 again; 好")
	if want := []string{"无法", "法登", "登录", "好"}; !slices.Equal(bigrams, want) {
		t.Errorf("bigrams %q, want %q", bigrams, want)
	}
	if words != "Reset      now,    again;  " {
		t.Errorf("words %q", words)
	}
	english, cjk := SearchQuery("Can't log in: 登录失败 (O'Brien)")
	if english != "can | t | log | in | o | brien" {
		t.Errorf("english query %q", english)
	}
	if cjk != "'登录' | '录失' | '失败'" {
		t.Errorf("cjk query %q", cjk)
	}
	if e, c := SearchQuery("!!! ???"); e != "" || c != "" {
		t.Errorf("a query without terms: %q %q", e, c)
	}
}
