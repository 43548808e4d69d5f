package metrictest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// READMEAlertRules is the Prometheus rule file the "Metrics and traces"
// section of README.md (at path) gives: its yaml block that starts with
// "groups:".
func READMEAlertRules(t testing.TB, path string) string {
	t.Helper()
	section := metricsSection(t, path)
	start := strings.Index(section, "```yaml\ngroups:")
	if start < 0 {
		t.Fatalf("metrictest: %s gives no rule file (a yaml block starting with groups:)", path)
	}
	block := section[start+len("```yaml\n"):]
	end := strings.Index(block, "```")
	if end < 0 {
		t.Fatalf("metrictest: %s: the rule file's block does not end", path)
	}
	return block[:end]
}

// PromtoolTestRules runs Prometheus's own rule checker and rule unit tests
// (promtool check rules, promtool test rules) on rules with tests, a
// promtool test file whose rule_files names "rules.yml", and fails t with
// promtool's output when either fails. promtool is Debian's prometheus
// package (.ci/run installs it); without it the test fails.
func PromtoolTestRules(t testing.TB, rules, tests string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("metrictest: promtool not found (apt-get install prometheus): %v", err)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{"rules.yml": rules, "rules_test.yml": tests} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"check", "rules", "rules.yml"}, {"test", "rules", "rules_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// inputSeries matches a promtool test file's input series: its metric name
// and its labels.
var inputSeries = regexp.MustCompile(`series:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}'`)

// labelPair matches one name="value" of a series' labels.
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"`)

// UnknownInputSeries returns the input series of tests (a promtool test
// file) that scrape (Prometheus text format, what the code exports) does not
// show: a series of that name whose labels include every label of the input
// series but the ones Prometheus adds itself (instance, job). A rule test
// over series the code never exports proves nothing about the rules.
func UnknownInputSeries(tests, scrape string) []string {
	var unknown []string
	for _, m := range inputSeries.FindAllStringSubmatch(tests, -1) {
		var labels []string
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			if p[1] != "instance" && p[1] != "job" {
				labels = append(labels, p[1], p[2])
			}
		}
		if _, ok := Sample(scrape, m[1], labels...); !ok {
			unknown = append(unknown, m[0])
		}
	}
	return unknown
}
