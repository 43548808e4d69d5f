// Command bench compares, on one throwaway PostgreSQL and in one run, the
// request throughput, latency and per-request database and CPU cost of
// sessionguard's default and cached paths (opaque tokens and JWTs) against
// no authentication, stateless JWTs, and what teams write by hand: the
// seed's two calls, scs with pgxstore, and a lean SELECT-first handler (the
// floor the Guard's own cost is measured against). See BENCHMARKS.md for
// the method and how to read it.
//
// Run it from the repository root, on a machine doing nothing else:
//
//	go run ./bench            # about 12 minutes with the defaults
//	go run ./bench -h         # flags
//
// The last line of its output is a JSON summary (the ratios of the goals,
// the lowest over the loads of -conns, and every load's figures under
// "by_conns"). The load generator is a raw keep-alive HTTP/1.1 writer
// (load.go); its own cost is measured against a no-op server in every run.
//
// A second instrument checks its ratios with a load generator in another
// process: go run ./bench -serve sets everything up as a run would and serves
// each variant with a wrk script, and bench/wrk.sh measures them with wrk.
//
// It lives in the library's module: its only extra dependency,
// github.com/alexedwards/scs/pgxstore, is a small package that applications
// importing sessionguard never compile (Go builds only the packages a program
// imports).
package main
