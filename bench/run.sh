#!/usr/bin/env bash
# make bench: holds lua-modelgates against libcurl's own limit (bench/curl_loop.c),
# against that loop plus the cjson.decode that any Lua client returning the
# JSON must pay (curl_loop_decode: the same file built with -DWITH_CJSON_DECODE),
# and against what Lua users write instead (Debian's lua-curl + lua-cjson by
# hand; the `curl` command per call). Prints one table; writes it, with the
# machine and the command, to build/bench/results.md.
#
# Servers: nginx on 127.0.0.1 (one worker, fixed bodies, http and https with a
# CA made here), and the bundled ModelGates server (lua-http) for its ceiling
# and for counting connections. Every loop is bounded in count and time;
# nginx is stopped on any exit.
#
# Environment: BENCH_SECONDS (per rate measurement, default 1), BENCH_REPS
# (interleaved repetitions of each rate, the best is kept; default 5),
# BENCH_CALLGRIND=0 to skip the instruction counts, BENCH_LUA_VERSIONS (the
# interpreters the module is measured on, each built by `make LUA_VERSION=v
# all`; default "5.1 5.4 luajit", as mk/bench.mk passes it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/bench
LOOP=$OUT/curl_loop
LOOP_DECODE=$OUT/curl_loop_decode
SECONDS_PER_RATE=${BENCH_SECONDS:-1}
REPS=${BENCH_REPS:-5}
CALLGRIND=${BENCH_CALLGRIND:-1}
CURLCLI_CALLS=${BENCH_CURLCLI_CALLS:-300}
LUA_VERSIONS=${BENCH_LUA_VERSIONS:-5.1 5.4 luajit}
HASH=5ad4233e72270dd65ad4233e72270dd65ad4233e72270dd65ad4233e72270dd6
WORK=$(mktemp -d "${TMPDIR:-/tmp}/modelgates-bench.XXXXXX")
RESULTS=$WORK/results.txt
NGINX_PID=""

cleanup() {
  if [ -n "$NGINX_PID" ]; then
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { printf 'bench: %s\n' "$*" >&2; }
record() { printf '%s\n' "$*" >>"$RESULTS"; }

# A version is the Makefile's LUA_VERSION: 5.1, 5.4, ... or luajit.
lua_interpreter() { case $1 in luajit) echo luajit ;; *) echo "lua$1" ;; esac; }

# lua_run VERSION ARGS...: that interpreter, with the paths of its build of the module.
LUA_PATH_BENCH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
lua_run() {
  local version=$1
  shift
  LUA_PATH="$LUA_PATH_BENCH" \
    LUA_CPATH="$ROOT/build/$version/?.so;$OUT/$version/?.so;;" \
    "$(lua_interpreter "$version")" "$@"
}

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

# instructions COMMAND...: the instructions it ran, counted by callgrind.
# --smc-check=all-non-file (amd64's default, explicit here): LuaJIT writes the
# machine code of its traces at run time, into anonymous memory; callgrind
# runs and counts that code like any other.
instructions() {
  valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

# lua_instructions VERSION ARGS...: instructions of lua_run VERSION ARGS...
lua_instructions() {
  local version=$1
  shift
  LUA_PATH="$LUA_PATH_BENCH" LUA_CPATH="$ROOT/build/$version/?.so;$OUT/$version/?.so;;" \
    instructions "$(lua_interpreter "$version")" "$@"
}

# A Lua client is a client.lua MODE and a version: module5.4, moduleluajit, luacurl5.1.
lua_client() { [[ $1 =~ ^(module|luacurl|curlcli)(.+)$ ]]; }

# ---------------------------------------------------------------- fixtures
note "fixtures in $WORK"
mkdir -p "$WORK/www" "$WORK/tmp"
lua5.1 "$ROOT/bench/gen_bodies.lua" "$WORK/www" 10000
(
  cd "$WORK"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout ca.key -out ca.pem -subj /CN=modelgates-bench-ca 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem 2>/dev/null
)
CA=$WORK/ca.pem

# ---------------------------------------------------------------- nginx
start_nginx() {
  local http_port=$1 https_port=$2
  cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  sendfile on;
  client_body_temp_path $WORK/tmp;
  proxy_temp_path $WORK/tmp;
  fastcgi_temp_path $WORK/tmp;
  uwsgi_temp_path $WORK/tmp;
  scgi_temp_path $WORK/tmp;
  server {
    listen 127.0.0.1:$http_port;
    listen 127.0.0.1:$https_port ssl;
    ssl_certificate $WORK/server.pem;
    ssl_certificate_key $WORK/server.key;
    default_type application/json;
    location = /api/v1/keys { root $WORK/www; try_files /list.json =404; }
    location ^~ /api/v1/keys/ { return 200 '$(cat "$WORK/www/key.json")'; }
    location = /nginx_status { stub_status; }
  }
}
CONF
  nginx -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" &
  NGINX_PID=$!
  local i
  for i in $(seq 50); do
    if curl -s -o /dev/null "http://127.0.0.1:$http_port/nginx_status" 2>/dev/null; then return 0; fi
    if ! kill -0 "$NGINX_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  kill "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=""
  return 1
}

started=""
for attempt in 1 2 3 4 5 6 7 8; do
  HTTP_PORT=$((20000 + RANDOM % 20000))
  HTTPS_PORT=$((HTTP_PORT + 1))
  if start_nginx "$HTTP_PORT" "$HTTPS_PORT"; then started=1; break; fi
done
[ -n "$started" ] || { cat "$WORK/nginx-error.log" >&2; note "nginx did not start"; exit 1; }
note "nginx (pid $NGINX_PID) on 127.0.0.1:$HTTP_PORT (http) and :$HTTPS_PORT (https)"

declare -A BASE=([http]="http://127.0.0.1:$HTTP_PORT/api/v1" [https]="https://127.0.0.1:$HTTPS_PORT/api/v1")
declare -A CAOPT=([http]="" [https]="--ca $CA")

nginx_cpu_ticks() { awk '{print $14 + $15}' "/proc/$NGINX_PID/stat"; }
nginx_accepts() { curl -s "http://127.0.0.1:$HTTP_PORT/nginx_status" | awk 'NR==3 {print $1}'; }
TICKS=$(getconf CLK_TCK)

# ---------------------------------------------------------------- 0. server ceilings
for proto in http https; do
  url="${BASE[$proto]}/keys/$HASH"
  before=$(nginx_cpu_ticks)
  line=$("$LOOP" "$url" ${CAOPT[$proto]} --parallel 8 --count 2000000 --seconds "$SECONDS_PER_RATE")
  after=$(nginx_cpu_ticks)
  calls=$(echo "$line" | field calls)
  record "nginx.$proto.parallel_rate=$(echo "$line" | field rate)"
  record "nginx.$proto.cpu_us=$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$calls" 'BEGIN { printf "%.2f", t / hz / n * 1e6 }')"
done
note "server ceilings measured"

# ---------------------------------------------------------------- 1. calls per second
rate_of() { # proto client -> one rate
  local proto=$1 client=$2 line
  case $client in
    c) line=$("$LOOP" "${BASE[$proto]}/keys/$HASH" ${CAOPT[$proto]} --count 1000000 --seconds "$SECONDS_PER_RATE") ;;
    cdecode) line=$("$LOOP_DECODE" "${BASE[$proto]}/keys/$HASH" ${CAOPT[$proto]} --count 1000000 --seconds "$SECONDS_PER_RATE") ;;
    *)
      lua_client "$client" || { note "unknown client $client"; return 1; }
      local mode=${BASH_REMATCH[1]} version=${BASH_REMATCH[2]} count=(--count 1000000)
      [ "$mode" = curlcli ] && count=(--count "$CURLCLI_CALLS" --warmup 0)
      line=$(lua_run "$version" "$ROOT/bench/client.lua" "$mode" "${BASE[$proto]}" ${CAOPT[$proto]} "${count[@]}" --seconds "$SECONDS_PER_RATE") ;;
  esac
  echo "$line" | field rate
}
MODULE_CLIENTS=$(printf 'module%s ' $LUA_VERSIONS)
CLIENTS="c cdecode $MODULE_CLIENTS luacurl5.1 curlcli5.1"
for proto in http https; do
  for rep in $(seq "$REPS"); do
    for client in $CLIENTS; do
      rate=$(rate_of "$proto" "$client")
      [ -n "$rate" ] || { note "no rate for $client over $proto"; exit 1; }
      record "calls.$proto.$client.rep$rep=$rate"
    done
  done
  # nginx's CPU per request while the C loop runs sequentially
  before=$(nginx_cpu_ticks)
  line=$("$LOOP" "${BASE[$proto]}/keys/$HASH" ${CAOPT[$proto]} --count 1000000 --seconds "$SECONDS_PER_RATE")
  after=$(nginx_cpu_ticks)
  record "nginx.$proto.seq_cpu_us=$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$(echo "$line" | field calls)" 'BEGIN { printf "%.2f", t / hz / n * 1e6 }')"
  note "calls per second over $proto measured"
done

# ---------------------------------------------------------------- 1b. instructions per call
if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
  for proto in http https; do
    for client in c cdecode $MODULE_CLIENTS luacurl5.1; do
      for n in 100 600; do
        case $client in
          c) total=$(instructions "$LOOP" "${BASE[$proto]}/keys/$HASH" ${CAOPT[$proto]} --count $n --seconds 600) ;;
          cdecode) total=$(instructions "$LOOP_DECODE" "${BASE[$proto]}/keys/$HASH" ${CAOPT[$proto]} --count $n --seconds 600) ;;
          *)
            lua_client "$client" || { note "unknown client $client"; exit 1; }
            total=$(lua_instructions "${BASH_REMATCH[2]}" "$ROOT/bench/client.lua" "${BASH_REMATCH[1]}" \
              "${BASE[$proto]}" ${CAOPT[$proto]} --count $n --seconds 600) ;;
        esac
        eval "ir_$n=$total"
      done
      record "ir.$proto.$client=$(( (ir_600 - ir_100) / 500 ))"
    done
    note "instructions per call over $proto counted"
  done
fi

# ---------------------------------------------------------------- 2. a 10,000-key page
LIST_REPS=$(( REPS < 3 ? REPS : 3 ))
# The page's transfer alone, with the module's receive buffer: what keys.list
# pays on top of the decode before any of its own work.
for rep in $(seq "$REPS"); do
  line=$("$LOOP" "${BASE[http]}/keys" --buffer-size 524288 --count 50 --seconds "$SECONDS_PER_RATE")
  record "list.transfer.rep$rep=$(echo "$line" | field rate)"
done
for version in $LUA_VERSIONS; do
  for rep in $(seq "$LIST_REPS"); do
    line=$(lua_run "$version" "$ROOT/bench/list.lua" module "${BASE[http]}")
    record "list.module$version.rep$rep=$line"
    line=$(lua_run "$version" "$ROOT/bench/list.lua" cjson "$WORK/www/list.json")
    record "list.cjson$version.rep$rep=$line"
  done
  if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
    # Instructions of one warm operation: a run with one more of them, less a run without.
    for mode in module cjson; do
      target=${BASE[http]}
      [ "$mode" = cjson ] && target=$WORK/www/list.json
      for warm in 0 1; do
        total=$(lua_instructions "$version" "$ROOT/bench/list.lua" "$mode" "$target" - "$warm")
        eval "ir_$warm=$total"
      done
      record "ir.list.$mode$version=$((ir_1 - ir_0))"
    done
  fi
done
note "the 10,000-key page measured"

# ---------------------------------------------------------------- 3. memory across 100,000 calls
for version in $LUA_VERSIONS; do
  record "mem.module$version=$(lua_run "$version" "$ROOT/bench/memory.lua" "${BASE[http]}" 10000 100000 60)"
done
note "memory across 100,000 calls measured"

# ---------------------------------------------------------------- 4. connections for 1,000 calls
for proto in http https; do
  for client in c module5.1; do
    before=$(nginx_accepts)
    case $client in
      c) "$LOOP" "${BASE[$proto]}/keys/$HASH" ${CAOPT[$proto]} --count 1000 --warmup 0 --seconds 60 >/dev/null ;;
      module5.1) lua_run 5.1 "$ROOT/bench/client.lua" module "${BASE[$proto]}" ${CAOPT[$proto]} --count 1000 --warmup 0 --seconds 60 >/dev/null ;;
    esac
    after=$(nginx_accepts)
    record "conn.nginx.$proto.$client=$((after - before - 1))"
  done
done
# The bundled ModelGates server: its ceiling, and its own count of connections.
lua_run 5.1 "$ROOT/bench/conn_and_ceiling.lua" "$LOOP" "$SECONDS_PER_RATE" 1000 >>"$RESULTS"
note "connections counted"

# ---------------------------------------------------------------- report
{
  echo "machine.nproc=$(nproc)"
  echo "machine.cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "machine.kernel=$(uname -r)"
  echo "machine.libcurl=$(curl-config --version 2>/dev/null || pkg-config --modversion libcurl)"
  echo "machine.curl_ssl=$(curl --version | head -1 | grep -o 'OpenSSL/[^ ]*' || true)"
  echo "machine.nginx=$(nginx -v 2>&1 | sed 's/.*nginx\///')"
  for version in $LUA_VERSIONS; do
    echo "machine.lua.$version=$("$(lua_interpreter "$version")" -v 2>&1 | awk 'NR == 1 {print $1, $2}')"
  done
  echo "machine.luajit2=$(dpkg-query -W -f='${Version}' luajit2 2>/dev/null || true)"
  echo "machine.luacurl=$(dpkg-query -W -f='${Version}' lua-curl 2>/dev/null)"
  echo "machine.cjson=$(dpkg-query -W -f='${Version}' lua-cjson 2>/dev/null)"
  echo "machine.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine.commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src lua 2>/dev/null || echo '+local changes')"
  echo "settings.seconds=$SECONDS_PER_RATE"
  echo "settings.reps=$REPS"
  echo "settings.lua_versions=$LUA_VERSIONS"
} >>"$RESULTS"
cp "$RESULTS" "$OUT/results.txt"
lua5.4 "$ROOT/bench/report.lua" "$OUT/results.txt" "$OUT/results.md"
