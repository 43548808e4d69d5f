package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core 4.14.1 (axe/README.md), injected into the page under
// test.
//
//go:embed axe/axe.min.js
var axeSource string

// AxeViolation is one accessibility rule that axe-core found broken on a
// page, with the elements that break it.
type AxeViolation struct {
	ID     string   `json:"id"`     // the rule, e.g. "color-contrast"
	Impact string   `json:"impact"` // minor, moderate, serious or critical
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // CSS selectors of the offending elements
}

func (v AxeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
}

// axeRun runs axe-core on the whole document with the WCAG 2.x A and AA rules
// and best practices, and reports the violations with their selectors.
const axeRun = `axe.run(document, {resultTypes: ['violations'],
	runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})
  .then(function (r) {
    return JSON.stringify(r.violations.map(function (v) {
      return {id: v.id, impact: v.impact || '', help: v.help,
        nodes: v.nodes.map(function (n) { return n.target.join(' '); })};
    }));
  })`

// Axe audits the tab's current page with axe-core and returns every
// violation. It injects axe-core into the page first (once per page).
func Axe(t testing.TB, ctx context.Context) []AxeViolation {
	t.Helper()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if err != nil {
		t.Fatalf("axe: %v", err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			t.Fatalf("axe: inject: %v", err)
		}
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe: run: %v", err)
	}
	var vs []AxeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe: results: %v", err)
	}
	return vs
}

// RequireAccessible fails t when axe-core finds a violation of serious or
// critical impact on the tab's current page; what it names is the page, in
// the failure message. Minor and moderate findings are logged.
func RequireAccessible(t testing.TB, ctx context.Context, page string) {
	t.Helper()
	for _, v := range Axe(t, ctx) {
		switch v.Impact {
		case "serious", "critical":
			t.Errorf("%s: accessibility: %s", page, v)
		default:
			t.Logf("%s: accessibility (not failing): %s", page, v)
		}
	}
}
