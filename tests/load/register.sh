#!/usr/bin/env bash
# Authenticated REGISTER load against a release build on 127.0.0.1.
#
#   tests/load/register.sh [RATE...]        default rates: 1000 2000 4000 6000 8000
#
# For each rate, SIPp runs RATE registrations per second for DURATION seconds
# (default 20) — each one REGISTER → 401 → REGISTER with digest → 200 — over
# USERS users (default 1000). The script prints, per rate: registrations
# attempted and failed, the rate achieved, and the server's CPU time per
# registration (user + system, from /proc/PID/stat). It stops by itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
. .ci/lib.sh
ensure_packages "${BUILD_PACKAGES[@]}" sipp:sip-tester

DURATION=${DURATION:-20}
USERS=${USERS:-1000}
RATES=("$@")
[ ${#RATES[@]} -eq 0 ] && RATES=(1000 2000 4000 6000 8000)

cargo build --release --locked --bin switchboard >&2
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/switchboard
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=${PORT:-25060}
cat >"$WORK/switchboard.toml" <<TOML
[sip]
listen = ["udp:127.0.0.1:$PORT", "tcp:127.0.0.1:$PORT"]
domains = ["example.test"]
[database]
url = "sqlite://$WORK/switchboard.db"
[log]
level = "warn"
TOML

echo "creating $USERS users..." >&2
{
    echo "SEQUENTIAL"
    for i in $(seq -w 1 "$USERS"); do
        echo "load$i;example.test;[authentication username=load$i password=pw$i]"
    done
} >"$WORK/users.csv"
for i in $(seq -w 1 "$USERS"); do echo "load$i pw$i"; done |
    "$BIN" --config "$WORK/switchboard.toml" user import --domain example.test >&2

"$BIN" serve --config "$WORK/switchboard.toml" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$WORK/server.log" && break
    sleep 0.1
done
grep -q "listening on" "$WORK/server.log" || { cat "$WORK/server.log" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
TICK=$(getconf CLK_TCK)

printf "%8s %10s %8s %9s %10s %14s\n" rate attempted failed failed% achieved "cpu us/reg"
for RATE in "${RATES[@]}"; do
    CALLS=$((RATE * DURATION))
    before=$(cpu_ticks)
    start=$(date +%s.%N)
    sipp -sf tests/load/register.xml -inf "$WORK/users.csv" -t u1 \
        -i 127.0.0.1 -p $((PORT + 1)) -mp $((PORT + 2)) -cp $((PORT + 3)) \
        -r "$RATE" -m "$CALLS" -l $((RATE * 2)) -timeout $((DURATION * 3))s \
        -nostdin -trace_stat -stf "$WORK/stat.csv" \
        -fd 1 127.0.0.1:$PORT >"$WORK/sipp.out" 2>&1 || true
    end=$(date +%s.%N)
    after=$(cpu_ticks)
    # Last line of the statistics file: cumulative successful and failed calls.
    read -r ok failed < <(awk -F';' 'NR==1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i } } END { print $s, $f }' "$WORK/stat.csv")
    total=$((ok + failed))
    awk -v r="$RATE" -v t="$total" -v f="$failed" -v ok="$ok" -v s="$start" -v e="$end" \
        -v c=$((after - before)) -v tick="$TICK" 'BEGIN {
            pct = t ? 100 * f / t : 100
            printf "%8d %10d %8d %8.3f%% %10.0f %14.1f\n", r, t, f, pct, ok / (e - s), (c / tick) * 1e6 / (ok ? ok : 1)
        }'
done
