#!/usr/bin/env bash
# Makes sure a Redis answers on 127.0.0.1:${REDIS_PORT:-6379} for the
# shared-limiter tests: uses the one running, else starts redis-server
# (installing it with apt-get when missing and allowed), else says how in
# one line and fails. `make test` and .ci/run call it.
set -euo pipefail
port="${REDIS_PORT:-6379}"

up() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

up && exit 0

if ! command -v redis-server >/dev/null; then
	if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
		echo "ensure-redis: installing redis-server with apt-get" >&2
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
	else
		echo "ensure-redis: no Redis on 127.0.0.1:$port and no redis-server: install it (apt-get install redis-server, brew install redis) or start one on that port" >&2
		exit 1
	fi
fi

redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no >/dev/null
for _ in $(seq 50); do
	up && exit 0
	sleep 0.1
done
echo "ensure-redis: redis-server did not answer on 127.0.0.1:$port" >&2
exit 1
