// Package readmecode is where the test compiles the Go snippets of
// README.md, SECURITY.md and docs/*.md, as written, against today's API: a
// snippet that an API change broke fails the test instead of misleading a
// reader. The snippets, and what they take as given (your store, pool,
// handlers, the request at hand), exist only in the test's build overlay;
// the package holds no code, and nothing imports it.
package readmecode
