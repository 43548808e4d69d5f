package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// ExampleStore_ListActive shows a "your active sessions" page's data and the
// owner-checked revoke behind its buttons. (It needs a database: compiled,
// not run.)
func ExampleStore_ListActive() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(pool, pgstore.Config{})
	if err != nil {
		log.Fatal(err)
	}

	const userID = 42
	sessions, err := store.ListActive(ctx, userID)
	if err != nil {
		log.Fatal(err) // a database error: show "try again later"
	}
	for _, s := range sessions {
		fmt.Printf("%s %s %s last active %s\n", s.ID, s.IP, s.UserAgent, s.LastActivityAt.Format("15:04"))
	}
	if len(sessions) > 0 {
		// Only ends the session if it belongs to userID.
		ended, err := store.RevokeUserSession(ctx, userID, sessions[0].ID, sessionguard.ReasonLogout)
		fmt.Println(ended, err)
	}
}

// ExampleStore_RevokeAllExcept ends every other session of a user whose
// password just changed, keeping the session that changed it.
func ExampleStore_RevokeAllExcept() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, _ := pgstore.New(pool, pgstore.Config{})

	var userID int64 = 42
	currentSessionID := "7a0c5f8e-4c1e-4f7b-9a55-2f1d3c0b9e11" // middleware.SessionFrom(ctx).ID
	n, err := store.RevokeAllExcept(ctx, userID, currentSessionID, sessionguard.ReasonPasswordChange)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed out elsewhere:", n)
}
