package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// cpuTimes is CPU time used so far: by this process (the load generator and
// the Go servers) and by the PostgreSQL server (postmaster and all its
// processes, exited backends included).
type cpuTimes struct {
	goProc   time.Duration
	postgres time.Duration
}

func (c cpuTimes) sub(o cpuTimes) cpuTimes {
	return cpuTimes{c.goProc - o.goProc, c.postgres - o.postgres}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// postmasterPID finds the server's postmaster as the parent of a backend.
func postmasterPID(ctx context.Context, stats *pgxpool.Pool) (int, error) {
	var backend int
	if err := stats.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		return 0, err
	}
	f, err := procStat(backend)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f[1])
}

// processExists reports whether pid still has an entry in /proc: a zombie
// not yet reaped by its parent does.
func processExists(pid int) bool {
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return err == nil
}

// procStat returns the fields of /proc/pid/stat after the command name
// (index 0 is the state, 1 the parent pid, 11 utime, 12 stime, 13 cutime,
// 14 cstime).
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return f, nil
}

func ticks(f []string, idx ...int) time.Duration {
	var sum int64
	for _, i := range idx {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		sum += n
	}
	return time.Duration(sum) * clockTick
}

// postgresCPU is the postmaster's own time, the time of its children that
// have exited (cutime, cstime: the postmaster reaps its backends) and the
// time of its children still running. Sampled right after the backends of
// the pools exited (snapshot), nearly all of it is in the first two.
func postgresCPU(postmaster int) time.Duration {
	f, err := procStat(postmaster)
	if err != nil {
		return 0
	}
	total := ticks(f, 11, 12, 13, 14)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cf, err := procStat(pid)
		if err != nil || cf[1] != strconv.Itoa(postmaster) {
			continue
		}
		total += ticks(cf, 11, 12)
	}
	return total
}
