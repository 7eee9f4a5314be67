package reply

import "testing"

// dateSamples are attribution openings and lines that resemble them.
var dateSamples = []string{
	"2016-03-03 17:21 GMT+01:00 Jane <jane@example.com>:", "26.06.2014, 10:15, Jane", "20 окт. 2016 г., в 10:15",
	"Thu, 26 Jun 2014 14:00 +0400 от Jane", "Feb 1, 2016 at 10:15", "2016年3月12日", "2016년 3월 12일", "Di., 12. März 2024",
	"tir. 12. mar. 2024 kl. 10:15", "ti 12.3.2024 klo 10.15", "вт, 12 мар. 2024 г.", "Customer 7", "my card was declined",
	"I paid 45 EUR on the 3rd", "Mon,\u00a012\u2003Mar 2024", "Mo\u00a0 12 Mar 2024", "Montag., 12. März 2024", "12",
	"abcdefghijklm 12.03.2024", "ab 12.03.2024", "ab cd 2024", "ab cde 1, 2024", "Mar\v12, 2024", "Mar. , 12, 2024",
	"Mar.,\t12, 2024", "x 1/2/3", "", "  12.03.2024", "Jänner 3, 2024", "\xff 12.03.2024",
}

func TestMayStartWithDate(t *testing.T) {
	matched := 0
	for _, s := range dateSamples {
		checkDatePrefilter(t, s)
		if dateLead.MatchString(s) {
			matched++
		}
	}
	if matched < 10 || mayStartWithDate("my card was declined when I tried to pay online") {
		t.Errorf("samples matched %d times; prefilter on plain text: %v", matched, mayStartWithDate("my card was declined"))
	}
}

func checkDatePrefilter(t *testing.T, s string) {
	t.Helper()
	if dateLead.MatchString(s) && !mayStartWithDate(s) {
		t.Errorf("mayStartWithDate(%q) = false, but dateLead matches", s)
	}
}

func FuzzMayStartWithDate(f *testing.F) {
	for _, s := range dateSamples {
		f.Add(s)
	}
	f.Fuzz(checkDatePrefilter)
}
