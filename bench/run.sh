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
# all`; default "5.1 5.4 luajit", as mk/bench.mk passes it), BENCH_ONLY (a
# space-separated list of the sections to run, for working on one of them:
# ceilings calls instructions list memory connections concurrency compression; default
# all; the table shows n/a for the others), BENCH_SEQUENTIAL_CALLS (section
# 5's sequential keys.get calls at 50 ms each, scaled to 1,000; default 200).
#
# Section 5 (concurrency) runs a second nginx with Debian's Lua module
# (libnginx-mod-http-lua) that answers every keys.get after 50 ms
# (ngx.sleep: a timer, so requests wait at the same time) and logs each
# request's connection number, from which it counts the connections.
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
ONLY=${BENCH_ONLY:-}
SEQUENTIAL_CALLS=${BENCH_SEQUENTIAL_CALLS:-200}
HASH=5ad4233e72270dd65ad4233e72270dd65ad4233e72270dd65ad4233e72270dd6
WORK=$(mktemp -d "${TMPDIR:-/tmp}/modelgates-bench.XXXXXX")
RESULTS=$WORK/results.txt
NGINX_PID=""
SLOW_PID=""

cleanup() {
  local pid
  for pid in $NGINX_PID $SLOW_PID; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { printf 'bench: %s\n' "$*" >&2; }
record() { printf '%s\n' "$*" >>"$RESULTS"; }
# want SECTION: whether BENCH_ONLY (empty: every section) names it.
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

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
# await_nginx PID HTTP_PORT: 0 once that nginx answers its status page
# (within 5 s); otherwise it is stopped, and 1.
await_nginx() {
  local pid=$1 port=$2 i
  for i in $(seq 50); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/nginx_status" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 1
}

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
  await_nginx "$NGINX_PID" "$http_port" && return 0
  NGINX_PID=""
  return 1
}

# start_on_free_ports START: runs `START HTTP_PORT HTTPS_PORT` on random
# ports, up to 8 tries (nginx cannot pick a free port itself); the ports of
# the try that worked are FREE_HTTP_PORT and FREE_HTTPS_PORT.
start_on_free_ports() {
  local try
  for try in 1 2 3 4 5 6 7 8; do
    FREE_HTTP_PORT=$((20000 + RANDOM % 20000))
    FREE_HTTPS_PORT=$((FREE_HTTP_PORT + 1))
    if "$1" "$FREE_HTTP_PORT" "$FREE_HTTPS_PORT"; then return 0; fi
    note "$1: try $try did not start (a port taken?)"
  done
  return 1
}

start_on_free_ports start_nginx || { cat "$WORK/nginx-error.log" >&2; note "nginx did not start"; exit 1; }
HTTP_PORT=$FREE_HTTP_PORT
HTTPS_PORT=$FREE_HTTPS_PORT
note "nginx (pid $NGINX_PID) on 127.0.0.1:$HTTP_PORT (http) and :$HTTPS_PORT (https)"

declare -A BASE=([http]="http://127.0.0.1:$HTTP_PORT/api/v1" [https]="https://127.0.0.1:$HTTPS_PORT/api/v1")
declare -A CAOPT=([http]="" [https]="--ca $CA")

nginx_cpu_ticks() { awk '{print $14 + $15}' "/proc/$NGINX_PID/stat"; }
nginx_accepts() { curl -s "http://127.0.0.1:$HTTP_PORT/nginx_status" | awk 'NR==3 {print $1}'; }
TICKS=$(getconf CLK_TCK)

# ---------------------------------------------------------------- 0. server ceilings
if want ceilings; then
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
fi

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
if want calls; then
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
fi

# ---------------------------------------------------------------- 1b. instructions per call
if want instructions && [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
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
if want list; then
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
fi

# ---------------------------------------------------------------- 3. memory across 100,000 calls
if want memory; then
for version in $LUA_VERSIONS; do
  record "mem.module$version=$(lua_run "$version" "$ROOT/bench/memory.lua" "${BASE[http]}" 10000 100000 60)"
done
note "memory across 100,000 calls measured"
fi

# ---------------------------------------------------------------- 4. connections for 1,000 calls
if want connections; then
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
fi

# ---------------------------------------------------------------- 5. many calls at once
# A second nginx, with Debian's Lua module, answers every keys.get with the
# same record after 50 ms (ngx.sleep: a timer; the worker serves the other
# requests meanwhile) and logs each request's connection number. 1,000 calls,
# 50 in flight: modelgates.gather, `curl --parallel` (the limit), and the
# module's own sequential loop.
if want concurrency; then
MANY_CALLS=1000
MANY_AT_ONCE=50
MANY_CAP=4
SLOW_LOG=$WORK/slow-access.log
start_slow_nginx() {
  local http_port=$1 https_port=$2 module
  {
    # The modules-available files name them relative to nginx's own prefix: this one is $WORK.
    for module in ndk_http_module ngx_http_lua_module; do
      echo "load_module /usr/lib/nginx/modules/$module.so;"
    done
    cat <<CONF
worker_processes 1;
daemon off;
master_process off;
pid $WORK/slow-nginx.pid;
error_log $WORK/slow-nginx-error.log warn;
events { worker_connections 1024; }
http {
  log_format connection '\$connection \$connection_requests \$status';
  access_log $SLOW_LOG connection;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  client_body_temp_path $WORK/tmp;
  proxy_temp_path $WORK/tmp;
  fastcgi_temp_path $WORK/tmp;
  uwsgi_temp_path $WORK/tmp;
  scgi_temp_path $WORK/tmp;
  init_by_lua_block {
    local file = assert(io.open("$WORK/www/key.json", "rb"))
    KEY_RECORD = file:read("*a")
    file:close()
  }
  server {
    listen 127.0.0.1:$http_port;
    listen 127.0.0.1:$https_port ssl;
    ssl_certificate $WORK/server.pem;
    ssl_certificate_key $WORK/server.key;
    default_type application/json;
    location ^~ /api/v1/keys/ {
      content_by_lua_block {
        ngx.sleep(0.05)
        ngx.header["Content-Length"] = #KEY_RECORD
        ngx.print(KEY_RECORD)
      }
    }
    location = /nginx_status { access_log off; stub_status; }
  }
}
CONF
  } >"$WORK/slow-nginx.conf"
  nginx -p "$WORK" -c "$WORK/slow-nginx.conf" -e "$WORK/slow-nginx-error.log" &
  SLOW_PID=$!
  await_nginx "$SLOW_PID" "$http_port" && return 0
  SLOW_PID=""
  return 1
}
start_on_free_ports start_slow_nginx ||
  { cat "$WORK/slow-nginx-error.log" >&2; note "nginx with the Lua module did not start"; exit 1; }
SLOW_HTTP_PORT=$FREE_HTTP_PORT
SLOW_HTTPS_PORT=$FREE_HTTPS_PORT
note "nginx with the Lua module (pid $SLOW_PID) on 127.0.0.1:$SLOW_HTTP_PORT (http) and :$SLOW_HTTPS_PORT (https)"
declare -A SLOW=([http]="http://127.0.0.1:$SLOW_HTTP_PORT/api/v1" [https]="https://127.0.0.1:$SLOW_HTTPS_PORT/api/v1")

# The server alone: one request takes its 50 ms and no more.
line=$(curl -s -o /dev/null -w '%{time_total}' "${SLOW[http]}/keys/$HASH")
record "many.server.one_request_s=$line"

seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }
slow_log_lines() { wc -l <"$SLOW_LOG"; }
# connections_since LINES: "connections requests" of the requests logged after line LINES,
# once all $MANY_CALLS of them are (nginx logs a request just after answering it).
connections_since() {
  local i
  for i in $(seq 50); do
    [ $(( $(slow_log_lines) - $1 )) -ge "$MANY_CALLS" ] && break
    sleep 0.1
  done
  tail -n +"$(( $1 + 1 ))" "$SLOW_LOG" | awk '!seen[$1]++ { n++ } END { print n + 0, NR }'
}
# many PROTO CONTENDER [CAP]: runs 1,000 calls; prints the process's wall time in
# seconds (and, for gather, the gather's own time: "wall in_process").
many() {
  local proto=$1 contender=$2 cap=${3:-} start line codes
  start=$EPOCHREALTIME
  case $contender in
    curl)
      codes=$(curl --parallel --parallel-immediate --parallel-max "$MANY_AT_ONCE" --config "$WORK/many-$proto.curl") ||
        return 1
      line=$(seconds_since "$start")
      [ "$(grep -c '^200$' <<<"$codes")" = "$MANY_CALLS" ] || { note "curl --parallel over $proto: not $MANY_CALLS times 200"; return 1; }
      echo "$line" ;;
    gather*)
      line=$(lua_run "${contender#gather}" "$ROOT/bench/gather.lua" gather "${SLOW[$proto]}" ${CAOPT[$proto]} \
        --calls "$MANY_CALLS" --concurrency "$MANY_AT_ONCE" ${cap:+--max_host_connections "$cap"} --seconds 60) ||
        return 1
      echo "$(seconds_since "$start") $(echo "$line" | field seconds)" ;;
  esac
}

for proto in http https; do
  lua_run 5.1 "$ROOT/bench/gather.lua" curlconfig "${SLOW[$proto]}" ${CAOPT[$proto]} --calls "$MANY_CALLS" \
    >"$WORK/many-$proto.curl"
done
GATHER_CONTENDERS=$(printf 'gather%s ' $LUA_VERSIONS)
for proto in http https; do
  for rep in $(seq "$REPS"); do
    for contender in curl $GATHER_CONTENDERS; do
      times=$(many "$proto" "$contender")
      read -r wall in_process <<<"$times"
      record "many.$proto.$contender.rep$rep=$wall"
      if [ -n "$in_process" ]; then record "many.$proto.$contender.gather_s.rep$rep=$in_process"; fi
    done
  done
  # The module's own loop, one call after the other: SEQUENTIAL_CALLS of them, scaled to 1,000.
  line=$(lua_run 5.1 "$ROOT/bench/gather.lua" sequential "${SLOW[$proto]}" ${CAOPT[$proto]} \
    --calls "$SEQUENTIAL_CALLS" --seconds 120)
  record "many.$proto.sequential5.1=$line"
  note "1,000 calls at once over $proto measured"
done

# Connections for 1,000 calls over https, counted by nginx: distinct $connection numbers.
for contender in curl gather5.1 gather5.1.cap$MANY_CAP; do
  before=$(slow_log_lines)
  case $contender in
    *.cap*) times=$(many https gather5.1 "$MANY_CAP") ;;
    *) times=$(many https "$contender") ;;
  esac
  record "many.conn.https.$contender.seconds=${times%% *}"
  read -r connections requests <<<"$(connections_since "$before")"
  record "many.conn.https.$contender=$connections"
  record "many.conn.https.$contender.requests=$requests"
done
kill "$SLOW_PID" 2>/dev/null || true
wait "$SLOW_PID" 2>/dev/null || true
SLOW_PID=""

# The blocking path through the transport seam: instructions per sequential
# keys.get (Lua 5.1, http), as section 1b counts them, if it did not run.
if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null && [[ " $LUA_VERSIONS " == *" 5.1 "* ]] &&
  ! grep -q '^ir\.http\.module5\.1=' "$RESULTS" 2>/dev/null; then
  for n in 100 600; do
    eval "ir_$n=$(lua_instructions 5.1 "$ROOT/bench/client.lua" module "${BASE[http]}" --count $n --seconds 600)"
  done
  record "ir.http.module5.1=$(( (ir_600 - ir_100) / 500 ))"
fi
note "many calls at once measured"
fi

# ---------------------------------------------------------------- 6. compression
if want compression; then
for version in $LUA_VERSIONS; do
  lua_run "$version" "$ROOT/bench/compression.lua" "$REPS" "$version" >>"$RESULTS"
done
note "compression measured"
fi

# ---------------------------------------------------------------- report
{
  echo "machine.nproc=$(nproc)"
  echo "machine.cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "machine.kernel=$(uname -r)"
  echo "machine.libcurl=$(curl-config --version 2>/dev/null || pkg-config --modversion libcurl)"
  echo "machine.curl_ssl=$(curl --version | head -1 | grep -o 'OpenSSL/[^ ]*' || true)"
  echo "machine.nginx=$(nginx -v 2>&1 | sed 's/.*nginx\///')"
  echo "machine.nginx_lua=$(dpkg-query -W -f='${Version}' libnginx-mod-http-lua 2>/dev/null || true)"
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
  echo "settings.sequential_calls=$SEQUENTIAL_CALLS"
  echo "settings.only=$ONLY"
} >>"$RESULTS"
cp "$RESULTS" "$OUT/results.txt"
lua5.4 "$ROOT/bench/report.lua" "$OUT/results.txt" "$OUT/results.md"
