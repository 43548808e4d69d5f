// Package topology tests sessionguard as it runs in production: separate
// app processes (the testserver command, built by the tests) on one
// PostgreSQL, a primary with a streaming hot standby, and a failover to
// that standby. Every process is real: PostgreSQL servers from
// internal/pgtemp, app instances from testserver. It has no API.
package topology
