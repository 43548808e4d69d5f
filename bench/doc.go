// Command bench compares, on one throwaway PostgreSQL and in one run, the
// request throughput and database cost of sessionguard's default and cached
// paths against no authentication, stateless JWTs, the seed's two calls and
// scs with pgxstore. See BENCHMARKS.md for the method and how to read it.
//
// Run it from the repository root:
//
//	go run ./bench            # about 2 minutes
//	go run ./bench -h         # flags
//
// It lives in the library's module: its only extra dependency,
// github.com/alexedwards/scs/pgxstore, is a small package that applications
// importing sessionguard never compile (Go builds only the packages a program
// imports).
package main
