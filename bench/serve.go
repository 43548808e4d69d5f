package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// The -serve mode is the bench's second instrument: the same rig as a
// measured run (throwaway PostgreSQL, sessions, caches, every variant at each
// of its pool sizes), served to a load generator in its own process, so that
// a surprising ratio can be checked with a tool that shares nothing with
// load.go. bench/wrk.sh drives it with wrk.
//
// On stdout, one line per variant and pool size, then a last line:
//
//	variant <key> <pool> <address> <wrk script>
//	ready <control address> <PostgreSQL directory>
//
// Pool 0 means the variant uses no database. Each script rotates through the
// variant's prepared requests (the same bytes load.go sends: one session per
// request). Before each measured run, GET
// http://<control>/prepare?variant=<key>&pool=<pool>&span=<duration> does
// what the bench does before a window: one request per session for the
// variants that touch at most once per interval, then brings forward the
// touches that would come due within span. Without it the first seconds of a
// run would write every session once.

// serveForLoad sets the bench up, serves it until ctx ends, then removes
// the scripts and the throwaway server.
func serveForLoad(ctx context.Context, o options, out, logw io.Writer) error {
	r, err := setup(ctx, o, logw)
	if err != nil {
		return err
	}
	defer r.close()
	dir, err := os.MkdirTemp("", "sessionguard-wrk-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var lines bytes.Buffer
	for _, k := range r.kinds {
		if k.handler == nil { // the no-op server measures load.go only
			continue
		}
		for _, size := range k.poolSizes(o) {
			script, err := writeWrkScript(dir, k, size)
			if err != nil {
				return err
			}
			fmt.Fprintf(&lines, "variant %s %d %s %s\n", k.key, size, r.addrs[k.key+"/"+strconv.Itoa(size)], script)
		}
	}

	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r.controlHandler(ctx), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ctl) }()
	fmt.Fprintf(&lines, "ready %s %s\n", ctl.Addr(), r.pgDir)
	if _, err := out.Write(lines.Bytes()); err != nil {
		srv.Close()
		return err
	}
	r.a.logf("serving; interrupt (SIGINT or SIGTERM) to stop")
	<-ctx.Done()
	r.a.logf("stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// controlHandler answers /prepare (see the comment at the top of this
// file), one at a time.
func (r *rig) controlHandler(ctx context.Context) http.Handler {
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("GET /prepare", func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		span, err := time.ParseDuration(q.Get("span"))
		if err != nil || span <= 0 {
			http.Error(w, "span: a positive duration such as 7s", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		aligned, err := r.prepare(ctx, q.Get("variant"), q.Get("pool"), span)
		if errors.Is(err, errUnknownVariant) {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "prepared %s/%s: %d touches brought forward\n", q.Get("variant"), q.Get("pool"), aligned)
	})
	return mux
}

var errUnknownVariant = errors.New("no such variant and pool size")

// prepare does for one variant what the bench does before each window:
// the pass, then the touches that would come due within span brought
// forward.
func (r *rig) prepare(ctx context.Context, key, pool string, span time.Duration) (int, error) {
	addr, found := r.addrs[key+"/"+pool]
	if !found || key == "noop" {
		return 0, errUnknownVariant
	}
	var k *kind
	for _, x := range r.kinds {
		if x.key == key {
			k = x
		}
	}
	if !k.pass {
		return 0, nil
	}
	if err := touchPass(ctx, addr, k, 32); err != nil {
		return 0, err
	}
	if !k.touches {
		return 0, nil
	}
	return alignTouches(ctx, r.a.bench, k.set, r.a.touchEvery, span+5*time.Second)
}

// writeWrkScript writes k's prepared requests (each ends with the blank
// line; none has a body) to <key>-<pool>.req in dir, and beside it a wrk
// script that loads them and sends them in turn, one session per request,
// each wrk thread starting at its own offset.
func writeWrkScript(dir string, k *kind, pool int) (string, error) {
	base := filepath.Join(dir, k.key+"-"+strconv.Itoa(pool))
	if err := os.WriteFile(base+".req", bytes.Join(k.reqs, nil), 0o600); err != nil {
		return "", err
	}
	script := fmt.Sprintf(wrkScript, k.name, pool, strconv.Quote(base+".req"))
	if err := os.WriteFile(base+".lua", []byte(script), 0o600); err != nil {
		return "", err
	}
	return base + ".lua", nil
}

// wrkScript is the Lua script of one variant: its name, its pool size and
// the quoted path of its requests (Go's quoting of a path is a valid Lua
// string).
const wrkScript = `-- Written by go run ./bench -serve: %s, pool %d.
-- Sends the variant's prepared requests in turn, one session per request.
local path = %s
local f = assert(io.open(path, "rb"))
local data = f:read("*a")
f:close()
local requests = {}
local from = 1
while true do
  local _, e = string.find(data, "\r\n\r\n", from, true)
  if not e then break end
  requests[#requests + 1] = string.sub(data, from, e)
  from = e + 1
end
assert(#requests > 0, "no requests in " .. path)

local threads = 0
function setup(thread)
  thread:set("first", threads)
  threads = threads + 1
end

local i = 0
function init(args)
  i = ((first or 0) * 7919) %% #requests
end

function request()
  i = i %% #requests + 1
  return requests[i]
end
`
