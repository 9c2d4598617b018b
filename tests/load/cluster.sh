#!/usr/bin/env bash
# One node on SQLite against two nodes sharing one PostgreSQL database, on
# 127.0.0.1, release build, same machine and same run.
#
#   tests/load/cluster.sh [register] [calls]        default: both parts
#
# REGISTER (rates REGISTER_RATES, default "1000 2000 4000" registrations/s in
# total, DURATION seconds each, default 10, USERS users, default 1000): SIPp
# with tests/load/register.xml against one node on SQLite, then two SIPp at
# once against two nodes on PostgreSQL, each with half the users and half the
# rate.
#
# Calls (rates CALL_RATES, default "100 300 600" calls/s, DURATION seconds,
# hold HOLD_MS, default 1000): SIPp caller and SIPp callee on one node on
# SQLite (tests/load/calls_uac.xml, calls_uas.xml), then the caller sending
# to node 1 while the callee is registered on node 2, so node 1 hands every
# call to node 2 and writes its record. The callee's binding must be visible
# on node 1 (HTTP /api/registrations) before each run.
#
# Media anchoring is off in every set-up ([media] enabled = false: SDP passes
# through, SIPp sends no RTP): the figures are signalling and records.
#
# Per run it prints attempted, failed, achieved/s, the CPU time (user +
# system, /proc/PID/stat) of each node and of PostgreSQL (the postmaster,
# its live children and its reaped children) per successful operation, and
# for calls the records written; SIPp's failure counters and the callee's
# errors go to stderr. PostgreSQL is a throwaway cluster started from
# Debian's postgresql package with fsync=off. Every process started is
# stopped on exit; every run is bounded in count and time (a SIPp still
# running 30 s after its own -timeout is stopped). LOGS_DIR=DIR keeps the
# nodes', PostgreSQL's and SIPp's logs and statistics there.
set -euo pipefail
cd "$(dirname "$0")/../.."
. .ci/lib.sh
ensure_packages "${BUILD_PACKAGES[@]}" sipp:sip-tester initdb:postgresql \
    psql:postgresql-client sqlite3:sqlite3 curl:curl jq:jq

DURATION=${DURATION:-10}
HOLD_MS=${HOLD_MS:-1000}
USERS=${USERS:-1000}
read -ra REGISTER_RATES <<<"${REGISTER_RATES:-1000 2000 4000}"
read -ra CALL_RATES <<<"${CALL_RATES:-100 300 600}"
PARTS=("$@")
[ ${#PARTS[@]} -eq 0 ] && PARTS=(register calls)
for part in "${PARTS[@]}"; do
    case $part in
    register | calls) ;;
    *)
        echo "usage: $0 [register] [calls]" >&2
        exit 2
        ;;
    esac
done

PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/postgres" ]; then
    echo "no PostgreSQL server binaries under /usr/lib/postgresql/<version>/bin" >&2
    exit 1
fi

cargo build --release --locked --bin switchboard >&2
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/switchboard
WORK=$(mktemp -d)
PG_DIR=$(mktemp -d)
PG_LAUNCHER=""
# Nodes and the SIPp callee (pids), and the SIPp runs under way.
RUNNING=()
SIPP_PIDS=()

stop_pid() {
    local pid=$1 i
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
stop_postgres() {
    local pid i
    [ -n "$PG_LAUNCHER" ] || return 0
    pid=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
        kill -INT "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    stop_pid "$PG_LAUNCHER"
    PG_LAUNCHER=""
}
cleanup() {
    local pid
    for pid in "${SIPP_PIDS[@]}" "${RUNNING[@]}"; do stop_pid "$pid"; done
    stop_postgres
    if [ -n "${LOGS_DIR:-}" ]; then
        mkdir -p "$LOGS_DIR"
        cp "$WORK"/*.log "$WORK"/*.out "$WORK"/stat-*.csv "$LOGS_DIR"/ 2>/dev/null || true
    fi
    rm -rf "$WORK" "$PG_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

PORT=${PORT:-27060}
SINGLE_PORT=$PORT
NODE1_PORT=$((PORT + 10))
NODE2_PORT=$((PORT + 20))
SINGLE_HTTP=$((PORT + 50))
NODE1_HTTP=$((PORT + 51))
NODE2_HTTP=$((PORT + 52))
PG_PORT=$((PORT + 60))
# SIPp ports, well apart: SIPp binds RTP/RTCP pairs for audio and video from
# the media port up.
SIPP_A=$((PORT + 100))
SIPP_B=$((PORT + 110))
UAC=$((PORT + 120))
UAS=$((PORT + 130))
NONCE_SECRET=9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d0f
TICK=$(getconf CLK_TCK)

# write_config FILE SIP_PORT HTTP_PORT DATABASE_URL [NODE]
write_config() {
    {
        cat <<TOML
[sip]
listen = ["udp:127.0.0.1:$2", "tcp:127.0.0.1:$2"]
domains = ["example.test"]
[http]
listen = "127.0.0.1:$3"
[database]
url = "$4"
[log]
level = "warn"
[auth]
nonce_secret = "$NONCE_SECRET"
[media]
enabled = false
# One caller places every call.
[calls]
max_calls_per_user = 0
TOML
        [ -z "${5:-}" ] || printf '[cluster]\nnode = "%s"\n' "$5"
    } >"$1"
}

# start_node CONFIG LOG: starts a node and sets NODE_PID once it listens.
start_node() {
    local i
    "$BIN" serve --config "$1" >"$2" 2>&1 &
    NODE_PID=$!
    RUNNING+=("$NODE_PID")
    for i in $(seq 1 150); do
        grep -q "listening on" "$2" && return 0
        kill -0 "$NODE_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the node did not start ($1):" >&2
    cat "$2" >&2
    exit 1
}

# stop_all: stops every node and SIPp still running.
stop_all() {
    local pid
    for pid in "${RUNNING[@]}"; do stop_pid "$pid"; done
    RUNNING=()
}

# Throwaway PostgreSQL server: initdb into PG_DIR, postgres on PG_PORT, as
# the postgres user when running as root (both refuse root).
start_postgres() {
    local as_pg=() i
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$PG_DIR"
        as_pg=(runuser -u postgres --)
    fi
    (cd "$PG_DIR" && "${as_pg[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust \
        -E UTF8 --no-locale --no-sync) >"$WORK/initdb.log" 2>&1 </dev/null ||
        { cat "$WORK/initdb.log" >&2; exit 1; }
    (cd "$PG_DIR" && exec "${as_pg[@]}" "$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" \
        -k "$PG_DIR" -c listen_addresses=127.0.0.1 -c fsync=off) \
        >"$WORK/postgres.log" 2>&1 </dev/null &
    PG_LAUNCHER=$!
    for i in $(seq 1 300); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -t 1 && return 0
        kill -0 "$PG_LAUNCHER" 2>/dev/null || break
        sleep 0.1
    done
    echo "PostgreSQL did not start:" >&2
    cat "$WORK/postgres.log" >&2
    exit 1
}
pg_url() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"; }
pg_query() { psql -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$1" -c "$2"; }

# CPU ticks (user + system) of one process.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU ticks of PostgreSQL: the postmaster (its own and its reaped children's)
# and its live children (backends, checkpointer, WAL writer, ...).
pg_ticks() {
    local pm child files=()
    pm=$(head -n 1 "$PG_DIR/data/postmaster.pid")
    for child in $(pgrep -P "$pm" || true); do files+=("/proc/$child/stat"); done
    cat "/proc/$pm/stat" "${files[@]}" 2>/dev/null |
        awk -v pm="$pm" '$1 == pm { t += $14 + $15 + $16 + $17; next } { t += $14 + $15 } END { print t + 0 }'
}
# µs of CPU per operation: per_op TICKS OK
per_op() { awk -v c="$1" -v ok="$2" -v tick="$TICK" 'BEGIN { if (ok) printf "%.1f", (c / tick) * 1e6 / ok; else printf "-" }'; }

# Cumulative successful and failed calls from a SIPp statistics file.
sipp_counts() {
    [ -s "$1" ] || { echo "sipp wrote no statistics ($1)" >&2; return 1; }
    awk -F';' 'NR==1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i } } END { print $s + 0, $f + 0 }' "$1"
}

# SIPp's non-zero failure and retransmission counters: sipp_problems WHO STAT
sipp_problems() {
    local found
    found=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next }
        END { for (i = 1; i <= NF; i++)
            if (h[i] ~ /^(Failed|Retransmissions|DeadCallMsgs|OutOfCallMsgs|WatchdogM)/ &&
                h[i] ~ /\(C\)$/ && $i + 0 > 0) printf " %s=%s", h[i], $i }' "$2")
    [ -z "$found" ] || echo "  sipp ($1):$found" >&2
}

# WARN/ERROR lines a node logged since line FROM: log_problems LOG FROM
log_problems() {
    local n
    n=$(tail -n +"$(($2 + 1))" "$1" | grep -cE 'WARN|ERROR' || true)
    if [ "$n" -gt 0 ]; then
        echo "  $1: $n WARN/ERROR lines since the run started, first ones:" >&2
        tail -n +"$(($2 + 1))" "$1" | grep -E 'WARN|ERROR' | head -n 5 | sed 's/^/    /' >&2
    fi
}

# users_csv FILE FIRST LAST: the SIPp injection file for users FIRST..LAST.
users_csv() {
    {
        echo "SEQUENTIAL"
        for i in $(seq -f "%04g" "$2" "$3"); do
            echo "load$i;example.test;[authentication username=load$i password=pw$i]"
        done
    } >"$1"
}

# sipp_register OUT STAT USERS_CSV LOCAL_PORT RATE COUNT TARGET_PORT: one SIPp
# REGISTER load in the background (pid in SIPP_PID).
sipp_register() {
    timeout --signal=INT --kill-after=10 $((DURATION * 3 + 30)) \
        sipp -sf tests/load/register.xml -inf "$3" -t u1 \
        -i 127.0.0.1 -p "$4" -mp $(($4 + 200)) -cp $(($4 + 1)) \
        -r "$5" -m "$6" -l $(($5 * 2)) -timeout $((DURATION * 3))s \
        -nostdin -trace_stat -stf "$2" -fd 1 "127.0.0.1:$7" >"$1" 2>&1 &
    SIPP_PID=$!
    SIPP_PIDS+=("$SIPP_PID")
}

REG_HEADER=$(printf "%-11s %6s %9s %7s %8s %9s %10s %10s %10s %10s" \
    setup rate attempted failed failed% achieved "us node1" "us node2" "us nodes" "us pg")

register_part() {
    local rate half calls start end ok failed ok2 failed2 total n1 n2 pg b1 b2 bp l1 l2
    echo "creating $USERS users..." >&2
    for i in $(seq -f "%04g" 1 "$USERS"); do echo "load$i pw$i"; done >"$WORK/users.txt"
    users_csv "$WORK/users.csv" 1 "$USERS"
    users_csv "$WORK/users-a.csv" 1 $((USERS / 2))
    users_csv "$WORK/users-b.csv" $((USERS / 2 + 1)) "$USERS"

    # One node on SQLite.
    write_config "$WORK/single.toml" "$SINGLE_PORT" "$SINGLE_HTTP" "sqlite://$WORK/register.db"
    "$BIN" --config "$WORK/single.toml" user import --domain example.test <"$WORK/users.txt" >&2
    start_node "$WORK/single.toml" "$WORK/register-single.log"
    local single=$NODE_PID
    echo "REGISTER: $DURATION s per rate, $USERS users, CPU in us per successful registration"
    echo "$REG_HEADER"
    for rate in "${REGISTER_RATES[@]}"; do
        calls=$((rate * DURATION))
        rm -f "$WORK/stat-a.csv"
        l1=$(wc -l <"$WORK/register-single.log")
        b1=$(cpu_ticks "$single")
        start=$(date +%s.%N)
        sipp_register "$WORK/sipp-a.out" "$WORK/stat-a.csv" "$WORK/users.csv" "$SIPP_A" \
            "$rate" "$calls" "$SINGLE_PORT"
        wait "$SIPP_PID" || true
        SIPP_PIDS=()
        end=$(date +%s.%N)
        n1=$(($(cpu_ticks "$single") - b1))
        read -r ok failed < <(sipp_counts "$WORK/stat-a.csv")
        total=$((ok + failed))
        awk -v r="$rate" -v t="$total" -v f="$failed" -v ok="$ok" -v s="$start" -v e="$end" \
            -v n1="$(per_op "$n1" "$ok")" 'BEGIN {
                printf "%-11s %6d %9d %7d %7.3f%% %9.0f %10s %10s %10s %10s\n", "sqlite-1", r, t, f,
                    t ? 100 * f / t : 100, ok / (e - s), n1, "-", n1, "-"
            }'
        sipp_problems "sqlite-1 $rate/s, register" "$WORK/stat-a.csv"
        log_problems "$WORK/register-single.log" "$l1"
    done
    stop_all

    # Two nodes on one PostgreSQL database, half the users and half the rate each.
    pg_query postgres "CREATE DATABASE sb_register" >/dev/null
    write_config "$WORK/reg-node1.toml" "$NODE1_PORT" "$NODE1_HTTP" "$(pg_url sb_register)" sb-1
    write_config "$WORK/reg-node2.toml" "$NODE2_PORT" "$NODE2_HTTP" "$(pg_url sb_register)" sb-2
    "$BIN" --config "$WORK/reg-node1.toml" user import --domain example.test <"$WORK/users.txt" >&2
    start_node "$WORK/reg-node1.toml" "$WORK/register-node1.log"
    local node1=$NODE_PID
    start_node "$WORK/reg-node2.toml" "$WORK/register-node2.log"
    local node2=$NODE_PID
    for rate in "${REGISTER_RATES[@]}"; do
        half=$((rate / 2))
        calls=$((half * DURATION))
        rm -f "$WORK/stat-a.csv" "$WORK/stat-b.csv"
        l1=$(wc -l <"$WORK/register-node1.log")
        l2=$(wc -l <"$WORK/register-node2.log")
        b1=$(cpu_ticks "$node1")
        b2=$(cpu_ticks "$node2")
        bp=$(pg_ticks)
        start=$(date +%s.%N)
        sipp_register "$WORK/sipp-a.out" "$WORK/stat-a.csv" "$WORK/users-a.csv" "$SIPP_A" \
            "$half" "$calls" "$NODE1_PORT"
        local pid_a=$SIPP_PID
        sipp_register "$WORK/sipp-b.out" "$WORK/stat-b.csv" "$WORK/users-b.csv" "$SIPP_B" \
            "$half" "$calls" "$NODE2_PORT"
        wait "$pid_a" || true
        wait "$SIPP_PID" || true
        SIPP_PIDS=()
        end=$(date +%s.%N)
        n1=$(($(cpu_ticks "$node1") - b1))
        n2=$(($(cpu_ticks "$node2") - b2))
        pg=$(($(pg_ticks) - bp))
        read -r ok failed < <(sipp_counts "$WORK/stat-a.csv")
        read -r ok2 failed2 < <(sipp_counts "$WORK/stat-b.csv")
        ok=$((ok + ok2))
        failed=$((failed + failed2))
        total=$((ok + failed))
        awk -v r="$rate" -v t="$total" -v f="$failed" -v ok="$ok" -v s="$start" -v e="$end" \
            -v n1="$(per_op "$n1" "$ok")" -v n2="$(per_op "$n2" "$ok")" \
            -v nn="$(per_op $((n1 + n2)) "$ok")" -v pg="$(per_op "$pg" "$ok")" 'BEGIN {
                printf "%-11s %6d %9d %7d %7.3f%% %9.0f %10s %10s %10s %10s\n", "postgres-2", r, t, f,
                    t ? 100 * f / t : 100, ok / (e - s), n1, n2, nn, pg
            }'
        sipp_problems "postgres-2 $rate/s, register to node 1" "$WORK/stat-a.csv"
        sipp_problems "postgres-2 $rate/s, register to node 2" "$WORK/stat-b.csv"
        log_problems "$WORK/register-node1.log" "$l1"
        log_problems "$WORK/register-node2.log" "$l2"
    done
    stop_all
}

# register_callee CONFIG_PORT: registers the callee from the UAS port.
register_callee() {
    sipp -sf tests/load/register.xml -inf "$WORK/callee.csv" -t u1 \
        -i 127.0.0.1 -p "$UAS" -mp $((UAS + 200)) -cp $((UAS + 1)) -m 1 -timeout 10s \
        -timeout_error -nostdin "127.0.0.1:$1" >"$WORK/register.out" 2>&1 ||
        { echo "the callee could not register:" >&2; cat "$WORK/register.out" >&2; exit 1; }
}

# start_uas: the SIPp callee, for all the runs of one set-up and no longer.
start_uas() {
    timeout --signal=INT --kill-after=10 $(((RUN_BOUND + 30) * ${#CALL_RATES[@]} + 60)) \
        sipp -sf tests/load/calls_uas.xml -t u1 -i 127.0.0.1 -p "$UAS" -mp $((UAS + 200)) \
        -cp $((UAS + 1)) -timeout $((RUN_BOUND * ${#CALL_RATES[@]} + 10))s -nostdin \
        -trace_err -error_file "$WORK/uas_errors-$1.log" >"$WORK/uas-$1.out" 2>&1 &
    RUNNING+=("$!")
}

# Size in bytes of the SIPp callee's error file of a set-up (0 while none).
uas_errors_size() { stat -c %s "$WORK/uas_errors-$1.log" 2>/dev/null || echo 0; }
# What the SIPp callee logged as errors since byte FROM, by kind:
# uas_problems LABEL SETUP FROM
uas_problems() {
    local f="$WORK/uas_errors-$2.log"
    [ "$(uas_errors_size "$2")" -gt "$3" ] || return 0
    echo "  sipp ($1, callee) errors by kind:" >&2
    tail -c +"$(($3 + 1))" "$f" | grep -oE 'Aborting call on [a-zA-Z ]*|Dead call [0-9a-f]+ \([a-z]+\), received .[A-Z]+|Overload warning|Discarding [a-zA-Z ]*' |
        sed -E 's/Dead call [0-9a-f]+/Dead call/' | sort | uniq -c | sort -rn | sed 's/^/    /' >&2 ||
        true
}

# run_calls RATE TARGET_PORT: one SIPp caller run (sets START, END, OK, FAILED).
run_calls() {
    local calls=$(($1 * DURATION))
    rm -f "$WORK/stat-c.csv"
    START=$(date +%s.%N)
    timeout --signal=INT --kill-after=10 $((RUN_BOUND + 30)) \
        sipp -sf tests/load/calls_uac.xml -inf "$WORK/calls.csv" -auth_uri callee@example.test \
        -t u1 -i 127.0.0.1 -p "$UAC" -mp $((UAC + 200)) -cp $((UAC + 1)) \
        -r "$1" -m "$calls" -d "$HOLD_MS" -l $(($1 * (HOLD_MS / 1000 + 5))) \
        -timeout "${RUN_BOUND}s" -nostdin -trace_stat -stf "$WORK/stat-c.csv" \
        -fd 1 "127.0.0.1:$2" >"$WORK/sipp-c.out" 2>&1 &
    SIPP_PIDS=("$!")
    wait "${SIPP_PIDS[0]}" || true
    SIPP_PIDS=()
    END=$(date +%s.%N)
    read -r OK FAILED < <(sipp_counts "$WORK/stat-c.csv") ||
        { tail -n 20 "$WORK/sipp-c.out" >&2; exit 1; }
}

# wait_records COUNT_COMMAND BEFORE EXPECTED: polls (up to 15 s) until the
# record count reaches BEFORE + EXPECTED; prints the records added.
wait_records() {
    local now i
    for i in $(seq 1 150); do
        now=$($1)
        [ "$((now - $2))" -ge "$3" ] && break
        sleep 0.1
    done
    echo $((now - $2))
}
sqlite_records() { sqlite3 "$WORK/calls.db" "SELECT count(*) FROM cdrs"; }
pg_records() { pg_query sb_calls "SELECT count(*) FROM cdrs"; }

# wait_binding HTTP_PORT TOKEN USER: until the node lists a binding of USER (15 s).
wait_binding() {
    local i
    for i in $(seq 1 150); do
        curl -sf -H "Authorization: Bearer $2" "http://127.0.0.1:$1/api/registrations" |
            jq -e --arg u "$3" 'any(.[]; .user == $u)' >/dev/null && return 0
        sleep 0.1
    done
    echo "node at HTTP port $1 does not list a binding of $3" >&2
    exit 1
}

CALL_HEADER=$(printf "%-11s %6s %9s %7s %8s %9s %8s %10s %10s %10s %10s" \
    setup rate attempted failed failed% achieved records "us node1" "us node2" "us nodes" "us pg")

# print_call_row SETUP RATE RECORDS N1 N2 PG (ticks; "-" when absent)
print_call_row() {
    local total=$((OK + FAILED)) n2="-" nn pg="-"
    [ "$5" = "-" ] || n2=$(per_op "$5" "$OK")
    [ "$6" = "-" ] || pg=$(per_op "$6" "$OK")
    if [ "$5" = "-" ]; then nn=$(per_op "$4" "$OK"); else nn=$(per_op $(($4 + $5)) "$OK"); fi
    awk -v setup="$1" -v r="$2" -v t="$total" -v f="$FAILED" -v ok="$OK" -v s="$START" \
        -v e="$END" -v hold="$HOLD_MS" -v rec="$3" -v n1="$(per_op "$4" "$OK")" -v n2="$n2" \
        -v nn="$nn" -v pg="$pg" 'BEGIN {
            span = (e - s) - hold / 1000
            if (span <= 0) span = e - s
            printf "%-11s %6d %9d %7d %7.3f%% %9.1f %8d %10s %10s %10s %10s\n", setup, r, t, f,
                t ? 100 * f / t : 100, ok / span, rec, n1, n2, nn, pg
        }'
}

calls_part() {
    local rate b1 b2 bp r0 rec l1 l2 u0 token
    RUN_BOUND=$((DURATION * 3 + HOLD_MS / 1000 + 10))
    printf 'caller pw-caller\ncallee pw-callee\n' >"$WORK/call-users.txt"
    printf 'SEQUENTIAL\ncaller;example.test;[authentication username=caller password=pw-caller];callee\n' \
        >"$WORK/calls.csv"
    printf 'SEQUENTIAL\ncallee;example.test;[authentication username=callee password=pw-callee]\n' \
        >"$WORK/callee.csv"

    # One node on SQLite: caller and callee on it.
    write_config "$WORK/calls-single.toml" "$SINGLE_PORT" "$SINGLE_HTTP" "sqlite://$WORK/calls.db"
    "$BIN" --config "$WORK/calls-single.toml" user import --domain example.test \
        <"$WORK/call-users.txt" >&2
    start_node "$WORK/calls-single.toml" "$WORK/calls-single.log"
    local single=$NODE_PID
    register_callee "$SINGLE_PORT"
    start_uas single
    echo "Calls: $DURATION s per rate, hold $HOLD_MS ms, media off, CPU in us per successful call"
    echo "$CALL_HEADER"
    for rate in "${CALL_RATES[@]}"; do
        l1=$(wc -l <"$WORK/calls-single.log")
        u0=$(uas_errors_size single)
        r0=$(sqlite_records)
        b1=$(cpu_ticks "$single")
        run_calls "$rate" "$SINGLE_PORT"
        b1=$(($(cpu_ticks "$single") - b1))
        rec=$(wait_records sqlite_records "$r0" $((OK + FAILED)))
        print_call_row sqlite-1 "$rate" "$rec" "$b1" - -
        sipp_problems "sqlite-1 $rate/s, caller" "$WORK/stat-c.csv"
        uas_problems "sqlite-1 $rate/s" single "$u0"
        log_problems "$WORK/calls-single.log" "$l1"
    done
    stop_all

    # Two nodes: the caller sends to node 1, the callee is registered on node 2.
    pg_query postgres "CREATE DATABASE sb_calls" >/dev/null
    write_config "$WORK/calls-node1.toml" "$NODE1_PORT" "$NODE1_HTTP" "$(pg_url sb_calls)" sb-1
    write_config "$WORK/calls-node2.toml" "$NODE2_PORT" "$NODE2_HTTP" "$(pg_url sb_calls)" sb-2
    "$BIN" --config "$WORK/calls-node1.toml" user import --domain example.test \
        <"$WORK/call-users.txt" >&2
    "$BIN" --config "$WORK/calls-node1.toml" admin add bench --password bench-password >&2
    start_node "$WORK/calls-node1.toml" "$WORK/calls-node1.log"
    local node1=$NODE_PID
    start_node "$WORK/calls-node2.toml" "$WORK/calls-node2.log"
    local node2=$NODE_PID
    token=$(curl -sf -H 'Content-Type: application/json' \
        -d '{"username":"bench","password":"bench-password"}' \
        "http://127.0.0.1:$NODE1_HTTP/api/login" | jq -r .token)
    register_callee "$NODE2_PORT"
    start_uas cluster
    for rate in "${CALL_RATES[@]}"; do
        wait_binding "$NODE1_HTTP" "$token" callee
        l1=$(wc -l <"$WORK/calls-node1.log")
        l2=$(wc -l <"$WORK/calls-node2.log")
        u0=$(uas_errors_size cluster)
        r0=$(pg_records)
        b1=$(cpu_ticks "$node1")
        b2=$(cpu_ticks "$node2")
        bp=$(pg_ticks)
        run_calls "$rate" "$NODE1_PORT"
        b1=$(($(cpu_ticks "$node1") - b1))
        b2=$(($(cpu_ticks "$node2") - b2))
        bp=$(($(pg_ticks) - bp))
        rec=$(wait_records pg_records "$r0" $((OK + FAILED)))
        print_call_row postgres-2 "$rate" "$rec" "$b1" "$b2" "$bp"
        sipp_problems "postgres-2 $rate/s, caller" "$WORK/stat-c.csv"
        uas_problems "postgres-2 $rate/s" cluster "$u0"
        log_problems "$WORK/calls-node1.log" "$l1"
        log_problems "$WORK/calls-node2.log" "$l2"
    done
    echo "records by node and disposition (PostgreSQL):" >&2
    pg_query sb_calls "SELECT coalesce(node, '-'), disposition, count(*) FROM cdrs
        GROUP BY 1, 2 ORDER BY 1, 2" | sed 's/^/  /' >&2
    stop_all
}

start_postgres
for part in "${PARTS[@]}"; do
    "${part}_part"
    echo
done
