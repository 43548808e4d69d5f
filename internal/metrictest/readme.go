package metrictest

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Documented is one row of README.md's table of instruments.
type Documented struct {
	Name       string
	Kind       string   // counter, updowncounter, gauge, histogram
	Unit       string   // "" when none
	Attributes []string // the attribute keys its points may carry
	Prometheus string   // the metric family a Prometheus scrape shows
}

// instrumentRow matches a row of the table:
// | `name` | kind | `unit` or – | `a`, `b` or – | `prometheus_name` | meaning |
var instrumentRow = regexp.MustCompile("^\\| `(sessionguard\\.[a-z_.]+)` \\| ([a-z]+) \\| ([^|]*) \\| ([^|]*) \\| ([^|]*) \\|")

// promName matches a Prometheus metric name of sessionguard's.
var promName = regexp.MustCompile(`\bsessionguard_[a-z_]+`)

// READMEInstruments reads the instruments README.md (at path) documents in
// its "Metrics and traces" section.
func READMEInstruments(t testing.TB, path string) map[string]Documented {
	t.Helper()
	section := metricsSection(t, path)
	docs := map[string]Documented{}
	for _, line := range strings.Split(section, "\n") {
		m := instrumentRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		d := Documented{Name: m[1], Kind: m[2], Unit: cell(m[3]), Prometheus: cell(m[5])}
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

// READMEPrometheusNames are the Prometheus metric names the "Metrics and
// traces" section of README.md (at path) uses anywhere: the table and the
// alert rules.
func READMEPrometheusNames(t testing.TB, path string) []string {
	t.Helper()
	names := promName.FindAllString(metricsSection(t, path), -1)
	slices.Sort(names)
	return slices.Compact(names)
}

func metricsSection(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("metrictest: %v", err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Metrics and traces\n")
	if start < 0 {
		t.Fatalf("metrictest: %s has no \"## Metrics and traces\" section", path)
	}
	section := text[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	return section
}
