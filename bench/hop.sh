#!/usr/bin/env bash
# What one hop through scfgate costs, next to nginx: the same trivial
# upstream (bench/upstream) called directly, through nginx (limit_req +
# proxy_pass over kept-alive connections, buffering off, access log on:
# bench/nginx.conf), through the Go baseline (bench/goproxy: net/http's
# server and httputil.ReverseProxy with an access log, no gateway logic)
# and through `scfgate serve` (one key, limits that never refuse, an http
# backend, access log on: bench/gateway.yaml). The Go baseline splits
# scfgate's cost in two: what Go's HTTP server, client and scheduler cost
# (go over nginx), and what the gateway's own work costs (scfgate over go).
#
# Open-loop load at a fixed rate (`scfgate bench`: requests start on
# schedule, latency counted from the scheduled start), ROUNDS interleaved
# rounds of direct, nginx, scfgate. Per round and as medians over the
# rounds it prints what each proxy adds over direct at p50 and p99,
# scfgate's added latency over nginx's, and each proxy's CPU time per
# request (utime+stime of its processes from /proc, CLK_TCK resolution).
#
# Installs nginx (apt-get) and jq when missing; everything binds
# 127.0.0.1 only. Settings: QPS (1000), DURATION (20s), ROUNDS (3),
# WARMUP (3s), PORT_BASE (18480: upstream +1, nginx +2, scfgate +3, go
# +4), GATEWAY_GOMAXPROCS (unset: Go's default; set, it is both Go
# proxies' GOMAXPROCS), KEEP=1 keeps the work folder (logs, configs).
set -euo pipefail

QPS=${QPS:-1000}
DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-3s}
PORT_BASE=${PORT_BASE:-18480}
KEY=sk-bench-hop
BODY='{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
upstream_addr=127.0.0.1:$((PORT_BASE + 1))
nginx_addr=127.0.0.1:$((PORT_BASE + 2))
scfgate_addr=127.0.0.1:$((PORT_BASE + 3))
go_addr=127.0.0.1:$((PORT_BASE + 4))

need() { command -v "$1" >/dev/null 2>&1; }

# apt_install installs packages without starting their services (nginx's
# package would start its default site on port 80).
apt_install() {
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	local policy=/usr/sbin/policy-rc.d made=""
	if [ ! -e $policy ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null && $sudo chmod +x $policy && made=1
	fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
	[ -z "$made" ] || $sudo rm -f $policy
}
missing=()
need nginx || missing+=(nginx-light)
need jq || missing+=(jq)
need pgrep || missing+=(procps)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d "${TMPDIR:-/tmp}/scfgate-hop.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then echo "work folder: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "building scfgate and the upstream..." >&2
(cd "$repo" && go build -trimpath -o "$work/scfgate" ./cmd/scfgate && go build -trimpath -o "$work/upstream" ./bench/upstream &&
	go build -trimpath -o "$work/goproxy" ./bench/goproxy)

sed -e "s|@DIR@|$work|g" -e "s|@PORT@|$nginx_addr|g" -e "s|@UPSTREAM@|$upstream_addr|g" "$here/nginx.conf" >"$work/nginx.conf"
sed -e "s|@UPSTREAM@|$upstream_addr|g" "$here/gateway.yaml" >"$work/gateway.yaml"

"$work/upstream" -addr "$upstream_addr" 2>"$work/upstream.log" &
pids+=($!)
"$nginx_bin" -p "$work" -c "$work/nginx.conf" 2>"$work/nginx.out" &
nginx_pid=$!
pids+=("$nginx_pid")
env ${GATEWAY_GOMAXPROCS:+GOMAXPROCS=$GATEWAY_GOMAXPROCS} "$work/scfgate" serve --addr "$scfgate_addr" --gateway-config "$work/gateway.yaml" --log-format json \
	>"$work/scfgate.out" 2>"$work/scfgate-access.log" &
scfgate_pid=$!
pids+=("$scfgate_pid")
env ${GATEWAY_GOMAXPROCS:+GOMAXPROCS=$GATEWAY_GOMAXPROCS} "$work/goproxy" --addr "$go_addr" --upstream "http://$upstream_addr" \
	2>"$work/goproxy-access.log" &
go_pid=$!
pids+=("$go_pid")

url() { echo "http://$1/v1/chat/completions"; }
wait_up() {
	for _ in $(seq 100); do
		if curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" -d "$BODY" "$(url "$1")" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "$1 did not answer; logs in $work" >&2
	KEEP=1
	exit 1
}
for a in "$upstream_addr" "$nginx_addr" "$scfgate_addr" "$go_addr"; do wait_up "$a"; done

# cpu_ticks is the utime+stime of a process and its children (nginx's
# workers), in clock ticks.
cpu_ticks() {
	local t=0 p
	for p in "$1" $(pgrep -P "$1" || true); do
		# Fields after the command's closing parenthesis: utime is the
		# 12th, stime the 13th.
		t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
	done
	echo "$t"
}
tck=$(getconf CLK_TCK)

# load runs the open-loop load against address $1 for $2 and prints
# scfgate bench's JSON result.
load() {
	"$work/scfgate" bench --url "$(url "$1")" --qps "$QPS" --duration "$2" --key "$KEY" --body "$BODY" \
		--concurrency 512 --timeout 10s --json
}

# measure prints one round's result of target $1 at address $2 (proxy
# pid $3, none for direct) as JSON: p50, p99, requests, errors, CPU ms
# per request.
measure() {
	local before=0 after=0 res
	[ -z "$3" ] || before=$(cpu_ticks "$3")
	res=$(load "$2" "$DURATION")
	[ -z "$3" ] || after=$(cpu_ticks "$3")
	jq -c --arg t "$1" --argjson ticks $((after - before)) --argjson tck "$tck" \
		'{target: $t, p50: .p50_ms, p99: .p99_ms, requests: .requests, ok: (.status["200"] // 0),
		  cpu_ms_per_req: (if .requests > 0 then $ticks * 1000 / $tck / .requests else 0 end)}' <<<"$res"
}

echo "warming up ($WARMUP each)..." >&2
for a in "$upstream_addr" "$nginx_addr" "$go_addr" "$scfgate_addr"; do load "$a" "$WARMUP" >/dev/null; done

results="$work/rounds.jsonl"
for r in $(seq "$ROUNDS"); do
	echo "round $r/$ROUNDS: direct, nginx, go, scfgate at $QPS req/s for $DURATION each..." >&2
	{
		measure direct "$upstream_addr" "" | jq -c --argjson r "$r" '. + {round: $r}'
		measure nginx "$nginx_addr" "$nginx_pid" | jq -c --argjson r "$r" '. + {round: $r}'
		measure go "$go_addr" "$go_pid" | jq -c --argjson r "$r" '. + {round: $r}'
		measure scfgate "$scfgate_addr" "$scfgate_pid" | jq -c --argjson r "$r" '. + {round: $r}'
	} >>"$results"
done

# One row per round (added = proxy minus direct of the same round), then
# the medians of each column over the rounds, with the ratios of those
# medians (a round's ratio is noisy when nginx adds a few microseconds).
jq -rs '
	def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def r3: . * 1000 | round / 1000;
	def ratio(a; b): if b > 0 then a / b else null end;
	group_by(.round) | map(
		(map({key: .target, value: .}) | from_entries) as $t |
		{round: $t.direct.round,
		 direct_p50: $t.direct.p50, direct_p99: $t.direct.p99,
		 nginx_p50: ($t.nginx.p50 - $t.direct.p50), nginx_p99: ($t.nginx.p99 - $t.direct.p99),
		 go_p50: ($t.go.p50 - $t.direct.p50), go_p99: ($t.go.p99 - $t.direct.p99),
		 scfgate_p50: ($t.scfgate.p50 - $t.direct.p50), scfgate_p99: ($t.scfgate.p99 - $t.direct.p99),
		 nginx_cpu: $t.nginx.cpu_ms_per_req, go_cpu: $t.go.cpu_ms_per_req, scfgate_cpu: $t.scfgate.cpu_ms_per_req,
		 failed: ([.[] | .requests - .ok] | add)}
		| . + {ratio_p50: ratio(.scfgate_p50; .nginx_p50), ratio_p99: ratio(.scfgate_p99; .nginx_p99),
		       ratio_cpu: ratio(.scfgate_cpu; .nginx_cpu)}) as $rows |
	def row(name): [name, .direct_p50, .direct_p99, .nginx_p50, .nginx_p99, .go_p50, .go_p99, .scfgate_p50, .scfgate_p99,
		.ratio_p50, .ratio_p99, .nginx_cpu, .go_cpu, .scfgate_cpu, .ratio_cpu, .failed]
		| map(if type == "number" then r3 else . end) | @tsv;
	(["", "direct p50", "direct p99", "nginx +p50", "nginx +p99", "go +p50", "go +p99", "scfgate +p50", "scfgate +p99",
	  "ratio p50", "ratio p99", "nginx cpu/req", "go cpu/req", "scfgate cpu/req", "ratio cpu", "failed"] | @tsv),
	($rows[] | row("round \(.round)")),
	(reduce ($rows[0] | keys[]) as $k ({}; .[$k] = ([$rows[][$k]] | median))
		| . + {ratio_p50: ratio(.scfgate_p50; .nginx_p50), ratio_p99: ratio(.scfgate_p99; .nginx_p99),
		       ratio_cpu: ratio(.scfgate_cpu; .nginx_cpu)}
		| row("median"))
' "$results" | column -t -s $'\t'
echo "milliseconds; +p50/+p99: latency added over direct; ratio: scfgate's over nginx's; cpu/req: CPU ms per request of the proxy's processes; go: the Go baseline (bench/goproxy)"
