package metrictest

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// Documented is one row of README.md's table of instruments.
type Documented struct {
	Name       string
	Kind       string   // counter, updowncounter, gauge, histogram
	Unit       string   // "" when none
	Attributes []string // the attribute keys its points may carry
}

// instrumentRow matches a row of the table: | `name` | kind | `unit` or – | `a`, `b` or – | meaning |
var instrumentRow = regexp.MustCompile("^\\| `(sessionguard\\.[a-z_.]+)` \\| ([a-z]+) \\| ([^|]*) \\| ([^|]*) \\|")

// READMEInstruments reads the instruments README.md (at path) documents in
// its "Metrics and traces" section.
func READMEInstruments(t testing.TB, path string) map[string]Documented {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("metrictest: %v", err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Metrics and traces")
	if start < 0 {
		t.Fatalf("metrictest: %s has no \"## Metrics and traces\" section", path)
	}
	section := text[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	docs := map[string]Documented{}
	for _, line := range strings.Split(section, "\n") {
		m := instrumentRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		d := Documented{Name: m[1], Kind: m[2], Unit: cell(m[3])}
		if a := cell(m[4]); a != "" {
			for _, k := range strings.Split(a, ",") {
				d.Attributes = append(d.Attributes, strings.Trim(strings.TrimSpace(k), "`"))
			}
		}
		docs[d.Name] = d
	}
	if len(docs) == 0 {
		t.Fatalf("metrictest: no instrument rows in the \"Metrics and traces\" section of %s", path)
	}
	return docs
}

// cell is a table cell's text without its code quotes; "–" (none) is "".
func cell(s string) string {
	s = strings.Trim(strings.TrimSpace(s), "`")
	if s == "–" {
		return ""
	}
	return s
}
