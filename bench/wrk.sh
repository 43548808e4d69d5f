#!/usr/bin/env bash
# bench/wrk.sh: the load benchmark's second instrument. It starts the bench in
# -serve mode (the same rig as `go run ./bench`: throwaway PostgreSQL,
# sessions, caches, every variant at each pool size of -pools) and measures the
# variants with wrk, a load generator in its own process that shares no code
# with bench/load.go, then prints the goals' ratios as the bench names them.
#
#   bench/wrk.sh [-d SECONDS] [-w SECONDS] [-r ROUNDS] [-c "32 256"] [-- BENCH_FLAGS...]
#
#   -d  measured wrk run per variant, pool size and load, per round (default 5)
#   -w  wrk warm-up before each measured run, not counted (default 1)
#   -r  rounds, interleaved; a variant's req/s is the median of its rounds (default 3)
#   -c  wrk connections, the loads the ratios are taken at (default "32 256")
#   BENCH_FLAGS go to `bench -serve`, e.g. -- -pools 4 -sessions 10000
#
# Each run is `wrk -t1` (one thread: one core at most). Before each run the
# bench prepares the variant as it does before its own windows (/prepare:
# one request per session, due touches brought forward). A run with any
# non-2xx answer or socket error fails the script: a variant answering
# 401/503 must not count. Run it from the repository root on a quiet machine.
set -euo pipefail

duration=5
warmup=1
rounds=3
loads="32 256"
while getopts "d:w:r:c:h" opt; do
	case $opt in
	d) duration=$OPTARG ;;
	w) warmup=$OPTARG ;;
	r) rounds=$OPTARG ;;
	c) loads=$OPTARG ;;
	*)
		sed -n '2,20s/^# \{0,1\}//p' "$0" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
if [[ ${1:-} == "--" ]]; then shift; fi

positive='^[1-9][0-9]*$'
if ! [[ $duration =~ $positive && $rounds =~ $positive && $warmup =~ ^[0-9]+$ ]]; then
	echo "wrk.sh: -d and -r must be positive integers, -w a non-negative one" >&2
	exit 2
fi
for c in $loads; do
	if ! [[ $c =~ $positive ]]; then
		echo "wrk.sh: -c \"$loads\": positive integers separated by spaces" >&2
		exit 2
	fi
done
if ! command -v wrk >/dev/null; then
	echo "wrk.sh: wrk is not installed; on Debian: apt-get install -y wrk" >&2
	exit 1
fi

# The variants whose ratios the goals state (the bench's JSON keys).
wanted=" no_auth jwt seed scs handwritten default unbatched default_jwt cached cached_jwt "

cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
pid=
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || echo "wrk.sh: bench -serve exited with status $?" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "$(date +%H:%M:%S) $*" >&2; }

log "building the bench"
go build -o "$tmp/bench" ./bench
"$tmp/bench" -serve "$@" >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
log "waiting for bench -serve (PostgreSQL, sessions)"
for ((i = 0; ; i++)); do
	if grep -q '^ready ' "$tmp/serve.out"; then break; fi
	if ! kill -0 "$pid" 2>/dev/null; then
		cat "$tmp/serve.err" >&2
		echo "wrk.sh: bench -serve stopped before it was ready" >&2
		exit 1
	fi
	if ((i > 600)); then
		echo "wrk.sh: bench -serve not ready after 5 minutes" >&2
		exit 1
	fi
	sleep 0.5
done
read -r _ control _ < <(grep '^ready ' "$tmp/serve.out")

keys=() pools=() addrs=() scripts=()
while read -r word key pool addr script; do
	if [[ $word == variant && $wanted == *" $key "* ]]; then
		keys+=("$key") pools+=("$pool") addrs+=("$addr") scripts+=("$script")
	fi
done <"$tmp/serve.out"
for key in $wanted; do
	if [[ " ${keys[*]} " != *" $key "* ]]; then
		echo "wrk.sh: bench -serve did not serve $key" >&2
		exit 1
	fi
done

# prepare KEY POOL: what the bench does before a window, over bash's
# /dev/tcp (no curl needed).
prepare() {
	local host=${control%:*} port=${control##*:} answer
	exec 3<>"/dev/tcp/$host/$port"
	printf 'GET /prepare?variant=%s&pool=%s&span=%ss HTTP/1.0\r\nHost: %s\r\n\r\n' \
		"$1" "$2" "$((warmup + duration))" "$control" >&3
	answer=$(cat <&3)
	exec 3<&-
	if [[ $answer != "HTTP/1.0 200 "* ]]; then
		echo "wrk.sh: prepare $1/$2 failed: ${answer##*$'\r\n'}" >&2
		exit 1
	fi
}

# run_wrk CONNS SECONDS INDEX: one wrk run; fails on any non-2xx answer or
# socket error; prints req/s.
run_wrk() {
	local out=$tmp/wrk.out label="${keys[$3]}/${pools[$3]} at $1 connections"
	if ! wrk -t1 -c"$1" -d"$2s" --timeout 10s -s "${scripts[$3]}" "http://${addrs[$3]}/" >"$out" 2>&1; then
		cat "$out" >&2
		echo "wrk.sh: wrk failed: $label" >&2
		exit 1
	fi
	local rps non2xx sockerr
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
	sockerr=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out")
	if [[ -z $rps ]]; then
		cat "$out" >&2
		echo "wrk.sh: no Requests/sec in wrk's output: $label" >&2
		exit 1
	fi
	if [[ ${non2xx:-0} != 0 || ${sockerr:-0} != 0 ]]; then
		cat "$out" >&2
		echo "wrk.sh: $label: ${non2xx:-0} non-2xx answers, ${sockerr:-0} socket errors; a run must have none" >&2
		exit 1
	fi
	echo "$rps"
}

# The cells: every load x every served variant and pool size; each round
# runs them all once, the order rotated by one per round.
cells=()
for c in $loads; do
	for i in "${!keys[@]}"; do cells+=("$c $i"); done
done
n=${#cells[@]}
log "${n} runs a round, ${rounds} rounds of ${warmup}s + ${duration}s each"
started=$SECONDS
: >"$tmp/results"
for ((round = 0; round < rounds; round++)); do
	for ((j = 0; j < n; j++)); do
		read -r c i <<<"${cells[$(((j + round) % n))]}"
		log "round $((round + 1))/$rounds: ${keys[$i]}, pool ${pools[$i]}, at $c connections"
		prepare "${keys[$i]}" "${pools[$i]}"
		if ((warmup > 0)); then run_wrk "$c" "$warmup" "$i" >/dev/null; fi
		rps=$(run_wrk "$c" "$duration" "$i")
		echo "$c ${keys[$i]} ${pools[$i]} $rps" >>"$tmp/results"
	done
done

# Medians per variant and pool size, each variant at its best pool size (as
# the bench counts it), the ratios at each load and, at the top level of the
# JSON, the lowest over the loads.
awk -v loads="$loads" -v dur="$duration" -v warm="$warmup" -v rounds="$rounds" -v took="$((SECONDS - started))" '
function median(list,    n, v, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] + 0 > t + 0; j--) v[j + 1] = v[j]; v[j + 1] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{ cell = $1 SUBSEP $2 SUBSEP $3; rates[cell] = rates[cell] " " $4; if (!(cell in seen)) { seen[cell] = 1; order[++cells] = cell } }
END {
	nr = split("default_vs_jwt default/jwt default_vs_seed default/seed default_vs_scs default/scs default_jwt_vs_jwt default_jwt/jwt guard_vs_handwritten unbatched/handwritten batched_vs_unbatched default/unbatched cached_vs_noauth cached/no_auth cached_jwt_vs_noauth cached_jwt/no_auth", r, " ")
	nl = split(loads, level, " ")
	printf "\nsessionguard bench, second instrument (wrk -t1): %d rounds x %ds runs (%ds warm-up), connections %s, took %ds\n", rounds, dur, warm, loads, took
	by = ""
	for (l = 1; l <= nl; l++) {
		c = level[l]
		printf "\n### %d connections (wrk)\n\n| variant | pool | req/s (median) | rounds |\n| --- | ---: | ---: | --- |\n", c
		delete best; delete bestPool
		for (x = 1; x <= cells; x++) {
			split(order[x], f, SUBSEP)
			if (f[1] != c) continue
			m = median(substr(rates[order[x]], 2))
			printf "| %s | %s | %.0f | %s |\n", f[2], f[3], m, substr(rates[order[x]], 2)
			if (m > best[f[2]] + 0) { best[f[2]] = m; bestPool[f[2]] = f[3] }
		}
		rp = ""; bp = ""; rt = ""
		for (k in best) { rp = rp sprintf("%s\"%s\":%.1f", rp == "" ? "" : ",", k, best[k]); bp = bp sprintf("%s\"%s\":%s", bp == "" ? "" : ",", k, bestPool[k]) }
		printf "\n"
		for (i = 1; i < nr; i += 2) {
			split(r[i + 1], p, "/")
			if (best[p[1]] > 0 && best[p[2]] > 0) {
				v = best[p[1]] / best[p[2]]
				printf "%s = %.3f\n", r[i], v
				rt = rt sprintf(",\"%s\":%.3f", r[i], v)
				if (!(r[i] in low) || v < low[r[i]]) low[r[i]] = v
			}
		}
		by = by sprintf("%s\"%s\":{\"req_per_s\":{%s},\"best_pool\":{%s}%s}", by == "" ? "" : ",", c, rp, bp, rt)
	}
	top = ""
	for (i = 1; i < nr; i += 2) if (r[i] in low) top = top sprintf(",\"%s\":%.3f", r[i], low[r[i]])
	printf "\n{\"instrument\":\"wrk\",\"duration_s\":%d,\"warmup_s\":%d,\"rounds\":%d,\"took_s\":%d%s,\"by_conns\":{%s}}\n", dur, warm, rounds, took, top, by
}' "$tmp/results"
