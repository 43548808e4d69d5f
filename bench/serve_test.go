package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// asMain makes the test binary run the bench's main instead of the tests,
// so that TestServe can start -serve as its own process and signal it.
const asMain = "SESSIONGUARD_BENCH_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestServe starts the -serve mode as a process and checks what bench/wrk.sh
// relies on: a line per variant and pool size, then the ready line; each
// address answers the first request of its wrk script's request file with
// 200; /prepare answers for every variant and refuses an unknown one; and
// SIGTERM stops the process with status 0, the scripts and the throwaway
// PostgreSQL removed. It needs no wrk and asserts nothing about speed.
func TestServe(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-serve", "-sessions", "50", "-pools", "2,3", "-pool", "2", "-rounds", "1", "-revocations", "1")
	cmd.Env = append(os.Environ(), asMain+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("stderr of -serve:\n%s", stderr.String())
		}
	}()

	type served struct{ key, pool, addr, script string }
	var variants []served
	var control, pgDir string
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	timeout := time.After(3 * time.Minute)
read:
	for {
		select {
		case line, open := <-lines:
			if !open {
				t.Fatal("stdout closed before the ready line")
			}
			f := strings.Fields(line)
			switch {
			case len(f) == 5 && f[0] == "variant":
				variants = append(variants, served{f[1], f[2], f[3], f[4]})
			case len(f) == 3 && f[0] == "ready":
				control, pgDir = f[1], f[2]
				break read
			default:
				t.Fatalf("unexpected line %q", line)
			}
		case <-timeout:
			t.Fatal("no ready line within 3 minutes")
		}
	}

	// Every variant wrk.sh runs, the swept ones at both pool sizes.
	want := []string{"no_auth/0", "jwt/0", "seed/2", "seed/3", "scs/2", "scs/3", "handwritten/2", "handwritten/3",
		"default/2", "default/3", "unbatched/2", "unbatched/3", "default_jwt/2", "cached/2", "cached_jwt/2"}
	var got []string
	for _, v := range variants {
		got = append(got, v.key+"/"+v.pool)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("variants = %v, want %v", got, want)
	}

	reqPath := regexp.MustCompile(`(?m)^local path = (".*")$`)
	for _, v := range variants {
		script, err := os.ReadFile(v.script)
		if err != nil {
			t.Fatal(err)
		}
		m := reqPath.FindSubmatch(script)
		if m == nil {
			t.Fatalf("%s: no request file in the script", v.script)
		}
		path, err := strconv.Unquote(string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		end := bytes.Index(data, []byte("\r\n\r\n"))
		if end < 0 {
			t.Fatalf("%s: no request", path)
		}
		if n := bytes.Count(data, []byte("\r\n\r\n")); v.key != "no_auth" && n != 50 {
			t.Errorf("%s/%s: %d requests, want one per session (50)", v.key, v.pool, n)
		}
		if status := rawStatus(t, v.addr, data[:end+4]); status != http.StatusOK {
			t.Errorf("%s/%s: first request of its script answered %d, want 200", v.key, v.pool, status)
		}
		resp, err := http.Get("http://" + control + "/prepare?variant=" + v.key + "&pool=" + v.pool + "&span=5s")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("prepare %s/%s: %d %s", v.key, v.pool, resp.StatusCode, body)
		}
	}
	for _, q := range []struct {
		query  string
		status int
	}{
		{"variant=noop&pool=0&span=5s", http.StatusNotFound},
		{"variant=default&pool=7&span=5s", http.StatusNotFound},
		{"variant=default&pool=2", http.StatusBadRequest},
	} {
		resp, err := http.Get("http://" + control + "/prepare?" + q.query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != q.status {
			t.Errorf("prepare?%s: %d, want %d", q.query, resp.StatusCode, q.status)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30 s after SIGTERM")
	}
	for _, dir := range []string{pgDir, dirOf(variants[0].script)} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after SIGTERM: %v, want removed", dir, err)
		}
	}
	for _, v := range variants {
		if c, err := net.DialTimeout("tcp", v.addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s/%s still accepts connections after SIGTERM", v.key, v.pool)
		}
	}
}

func dirOf(path string) string { return path[:strings.LastIndexByte(path, '/')] }

// rawStatus sends req, as wrk would, over a new connection to addr and
// returns the answer's status.
func rawStatus(t *testing.T, addr string, req []byte) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
