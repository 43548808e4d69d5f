package pgstore_test

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtemp"
	"github.com/sessionguard/sessionguard/pgstore"
)

// stallProxy forwards TCP connections on 127.0.0.1 to a server's unix
// socket. Once stalled, it drops what clients send and still delivers what
// the server sends: to a client, a connection whose peer has gone silent
// (a half-open connection) that still receives the notifications already
// on their way.
type stallProxy struct {
	ln      net.Listener
	stalled atomic.Bool
	// stallOn, when set, stalls the proxy (once) as soon as a client sends
	// it: what that client sent, and all after it, is dropped.
	stallOn atomic.Pointer[string]
	// deafOn, when set, makes the proxy (once) stop delivering what the
	// server sends, from the server's answer to the client's message that
	// holds it on: the client's next query, or a notification, never
	// arrives.
	deafOn    atomic.Pointer[string]
	deafArmed atomic.Bool
	deaf      atomic.Bool
	mu        sync.Mutex
	conns     []net.Conn
}

func newStallProxy(t *testing.T, srv *pgtemp.Server) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln}
	socket := filepath.Join(srv.Dir(), ".s.PGSQL."+strconv.Itoa(srv.Port()))
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("unix", socket)
			if err != nil {
				client.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, client, server)
			p.mu.Unlock()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := server.Read(buf)
					if err != nil {
						client.Close()
						return
					}
					if p.deaf.Load() {
						continue
					}
					if _, err := client.Write(buf[:n]); err != nil {
						return
					}
					if p.deafArmed.CompareAndSwap(true, false) {
						p.deaf.Store(true)
					}
				}
			}()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := client.Read(buf)
					if err != nil {
						server.Close()
						return
					}
					if on := p.stallOn.Load(); on != nil && bytes.Contains(buf[:n], []byte(*on)) && p.stallOn.CompareAndSwap(on, nil) {
						p.stalled.Store(true)
					}
					if on := p.deafOn.Load(); on != nil && bytes.Contains(buf[:n], []byte(*on)) && p.deafOn.CompareAndSwap(on, nil) {
						p.deafArmed.Store(true)
					}
					if !p.stalled.Load() {
						if _, err := server.Write(buf[:n]); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	return p
}

// connString is a libpq connection string through the proxy to database.
func (p *stallProxy) connString(database string) string {
	addr := p.ln.Addr().(*net.TCPAddr)
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=%s sslmode=disable", addr.Port, database)
}

// TestReplicaListenerStalledInAFence: the listener learns a revocation's WAL
// position on its own connection. When that connection goes silent while it
// asks, the listener must give up within a health-check interval and fence
// every session, as when the connection drops: a revocation it can no
// longer hear of (here a second one, by plain SQL) must not pass through
// the lagging replica.
func TestReplicaListenerStalledInAFence(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, 0)
	ctx := t.Context()
	proxy := newStallProxy(t, f.rs.Primary)
	const interval = 200 * time.Millisecond
	c := newCache(t, f.store, pgstore.CacheConfig{ListenConnString: proxy.connString("postgres"), HealthCheckInterval: interval})
	runCache(t, c)
	first, _ := f.create(t, nil)
	second, _ := f.create(t, nil)
	f.waitReplayed(t)
	if st := mustValidate(t, f.store, second, sessionguard.Scope{}); st.State != sessionguard.StateValid || f.store.ReplicaStats().Served != 1 {
		t.Fatalf("before: %q, %+v; want valid from the replica", st.State, f.store.ReplicaStats())
	}

	f.pauseReplay(t) // behind however long the stalled listener takes
	proxy.stalled.Store(true)
	// The listener hears of the first revocation and asks the primary for
	// its position on the stalled connection.
	if _, err := f.pool.Exec(ctx, "SELECT revoke_session($1, 'admin_revoke')", first); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the cache stops answering", func() bool { return !c.Listening() })
	time.Sleep(2 * interval) // past the listener's own deadline on its question
	if _, err := f.pool.Exec(ctx, "SELECT revoke_session($1, 'admin_revoke')", second); err != nil {
		t.Fatal(err)
	}
	if active, _ := f.replicaActive(t, second); !active {
		t.Fatal("the replica replayed the revocation while paused; the test proves nothing")
	}
	for name, v := range map[string]validator{"store": f.store, "cache": c} {
		if st := mustValidate(t, v, second, sessionguard.Scope{}); st.State != sessionguard.StateRevoked {
			t.Errorf("%s: session revoked while the listener was stalled: %q; want revoked (replica stats %+v)",
				name, st.State, f.store.ReplicaStats())
		}
	}
}
