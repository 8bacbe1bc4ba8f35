package console

import "testing"

func TestDurationKeepsFractionsOfShortTimes(t *testing.T) {
	for secs, want := range map[float64]string{0.4567: "457ms", 12.34: "12.3s", 7800: "2h10m0s", 0: "0s"} {
		if got := duration(&secs); got != want {
			t.Errorf("duration(%v) = %s, want %s", secs, got, want)
		}
	}
	if got := duration(nil); got != "—" {
		t.Errorf("duration(nil) = %s", got)
	}
}
