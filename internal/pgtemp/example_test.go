package pgtemp_test

import (
	"context"
	"fmt"
	"log"

	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard/internal/pgtemp"
)

func ExampleStart() {
	ctx := context.Background()
	srv, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		log.Fatal(err) // errors.Is(err, pgtemp.ErrNoPostgres): the message says what to install
	}
	defer srv.Close()

	conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
	var user string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil {
		log.Fatal(err)
	}
	fmt.Println(user)
	// Output: postgres
}
