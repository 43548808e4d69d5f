package pgstore_test

import (
	"context"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard/pgstore"
)

// A Store whose read path goes to a streaming hot standby. The primary's
// pool names both servers and accepts only the writable one, so it follows
// a failover; the read pool names the standby. (Compiled, not run: it needs
// the two servers.)
func ExampleConfig_readPool() {
	ctx := context.Background()
	primary, err := pgxpool.New(ctx, "host=db1,db2 dbname=app target_session_attrs=read-write")
	if err != nil {
		log.Fatal(err)
	}
	defer primary.Close()
	replica, err := pgxpool.New(ctx, os.Getenv("REPLICA_URL")) // e.g. host=db2 dbname=app
	if err != nil {
		log.Fatal(err)
	}
	defer replica.Close()

	store, err := pgstore.New(primary, pgstore.Config{ReadPool: replica})
	if err != nil {
		log.Fatal(err)
	}
	// Revoke returns once the standby has replayed the revocation (or
	// sessionguard.ErrReplicaBehind after Config.ReplayWait, the session ended anyway).
	_, _ = store.Revoke(ctx, "0000000000000000000000000000000000000000000000000000000000000000", "logout")
}
