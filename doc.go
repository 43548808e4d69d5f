// Package sessionguard is the shared vocabulary of server-side session
// control: what a session is (NewSession, SessionInfo), which application it
// belongs to (AppType, NoTenant), what a check of a token hash reports
// (State, Status), why a session ended (Reason…), the audit events (Event),
// how the user last authenticated (Status.AuthTime, ACR, AMR;
// CheckAuthentication), a re-authentication (Reauthentication), the limit on
// a user's sessions (SessionLimit, ErrSessionLimit), and the Store contract
// the HTTP side calls.
//
// The packages do the work: middleware puts a Guard in front of net/http
// handlers, pgstore implements Store over a PostgreSQL sessions table, and
// schema holds the SQL. This package holds only the plain types they share,
// so that a test fake or a store of your own needs neither HTTP nor pgx, as
// scs's root package owns its Store contract.
package sessionguard
