package metrictest

import (
	"regexp"
	"strconv"
	"strings"
)

// Sample is the value of the first sample in text (Prometheus text format)
// of metric name whose labels include every name="value" in labels, and
// whether there is one.
func Sample(text, name string, labels ...string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		set, value := "", rest
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			set, value = rest[1:end], rest[end+1:]
		}
		if !hasLabels(set, labels) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		return v, true
	}
	return 0, false
}

func hasLabels(set string, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		if !strings.Contains(set, labels[i]+"="+strconv.Quote(labels[i+1])) {
			return false
		}
	}
	return true
}

// familyLine matches the TYPE line of a metric family.
var familyLine = regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)$`)

// Families are the metric families of an exposition, by name, with their
// type (counter, gauge, histogram, ...).
func Families(text string) map[string]string {
	fams := map[string]string{}
	for _, m := range familyLine.FindAllStringSubmatch(text, -1) {
		fams[m[1]] = m[2]
	}
	return fams
}
