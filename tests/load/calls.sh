#!/usr/bin/env bash
# Authenticated call load against a release build on 127.0.0.1:
# SIPp caller → switchboard → SIPp callee.
#
#   tests/load/calls.sh [RATE...]        default rates: 200 400 800 1600
#
# The callee (user "callee") is a SIPp UAS whose binding is registered from
# its own port before it starts. For each rate, the caller (user "caller")
# places RATE calls per second for DURATION seconds (default 10) — INVITE →
# 407 → INVITE with digest → 180/200 → ACK → hold HOLD_MS (default 1000) →
# BYE → 200. The script prints, per rate: calls attempted and failed, the
# rate of successful calls achieved, and the server's CPU time per call
# (user + system, from /proc/PID/stat). Every run is bounded in count and
# time; the script stops by itself and kills what it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
. .ci/lib.sh
ensure_packages "${BUILD_PACKAGES[@]}" sipp:sip-tester

DURATION=${DURATION:-10}
HOLD_MS=${HOLD_MS:-1000}
RATES=("$@")
[ ${#RATES[@]} -eq 0 ] && RATES=(200 400 800 1600)

cargo build --release --locked --bin switchboard >&2
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/switchboard
WORK=$(mktemp -d)
SERVER_PID=""
UAS_PID=""
cleanup() {
    [ -n "$UAS_PID" ] && kill "$UAS_PID" 2>/dev/null && wait "$UAS_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=${PORT:-26060}
UAC_PORT=$((PORT + 1))
UAS_PORT=$((PORT + 2))
# Media and control ports, well apart: SIPp binds RTP/RTCP pairs for audio
# and video from the media port up.
UAC_MEDIA=$((PORT + 100))
UAS_MEDIA=$((PORT + 200))
cat >"$WORK/switchboard.toml" <<TOML
[sip]
listen = ["udp:127.0.0.1:$PORT", "tcp:127.0.0.1:$PORT"]
domains = ["example.test"]
[database]
url = "sqlite://$WORK/switchboard.db"
[log]
level = "warn"
# One caller places every call.
[calls]
max_calls_per_user = 0
TOML

printf 'caller pw-caller\ncallee pw-callee\n' |
    "$BIN" --config "$WORK/switchboard.toml" user import --domain example.test >&2
printf 'SEQUENTIAL\ncaller;example.test;[authentication username=caller password=pw-caller];callee\n' \
    >"$WORK/calls.csv"
printf 'SEQUENTIAL\ncallee;example.test;[authentication username=callee password=pw-callee]\n' \
    >"$WORK/callee.csv"

"$BIN" serve --config "$WORK/switchboard.toml" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$WORK/server.log" && break
    sleep 0.1
done
grep -q "listening on" "$WORK/server.log" || { cat "$WORK/server.log" >&2; exit 1; }

# The callee's binding: a REGISTER from the port the UAS will answer on.
sipp -sf tests/load/register.xml -inf "$WORK/callee.csv" -t u1 \
    -i 127.0.0.1 -p "$UAS_PORT" -mp "$UAS_MEDIA" -m 1 -timeout 10s -timeout_error \
    -nostdin 127.0.0.1:$PORT >"$WORK/register.out" 2>&1 ||
    { echo "the callee could not register:" >&2; cat "$WORK/register.out" >&2; exit 1; }

# The UAS lives for all the runs, and no longer.
RUN_BOUND=$((DURATION * 3 + HOLD_MS / 1000 + 10))
sipp -sf tests/load/calls_uas.xml -t u1 -i 127.0.0.1 -p "$UAS_PORT" -mp "$UAS_MEDIA" \
    -timeout $((RUN_BOUND * ${#RATES[@]} + 10))s -nostdin \
    -trace_err -error_file "$WORK/uas_errors.log" >"$WORK/uas.out" 2>&1 &
UAS_PID=$!

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
TICK=$(getconf CLK_TCK)

printf "%8s %10s %8s %9s %10s %15s\n" rate attempted failed failed% achieved "cpu us/call"
for RATE in "${RATES[@]}"; do
    CALLS=$((RATE * DURATION))
    rm -f "$WORK/stat.csv"
    before=$(cpu_ticks)
    start=$(date +%s.%N)
    sipp -sf tests/load/calls_uac.xml -inf "$WORK/calls.csv" -auth_uri callee@example.test \
        -t u1 -i 127.0.0.1 -p "$UAC_PORT" -mp "$UAC_MEDIA" -cp $((PORT + 3)) \
        -r "$RATE" -m "$CALLS" -d "$HOLD_MS" -l $((RATE * (HOLD_MS / 1000 + 5))) \
        -timeout "${RUN_BOUND}s" -nostdin -trace_stat -stf "$WORK/stat.csv" \
        -fd 1 127.0.0.1:$PORT >"$WORK/sipp.out" 2>&1 || true
    end=$(date +%s.%N)
    after=$(cpu_ticks)
    # Last line of the statistics file: cumulative successful and failed calls.
    [ -s "$WORK/stat.csv" ] || { echo "sipp wrote no statistics:" >&2; tail -20 "$WORK/sipp.out" >&2; exit 1; }
    read -r ok failed < <(awk -F';' 'NR==1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i } } END { print $s + 0, $f + 0 }' "$WORK/stat.csv")
    total=$((ok + failed))
    # The achieved rate leaves out the hold of the last calls.
    awk -v r="$RATE" -v t="$total" -v f="$failed" -v ok="$ok" -v s="$start" -v e="$end" \
        -v hold="$HOLD_MS" -v c=$((after - before)) -v tick="$TICK" 'BEGIN {
            pct = t ? 100 * f / t : 100
            span = (e - s) - hold / 1000
            if (span <= 0) span = e - s
            cpu = ok ? sprintf("%15.1f", (c / tick) * 1e6 / ok) : sprintf("%15s", "-")
            printf "%8d %10d %8d %8.3f%% %10.1f %s\n", r, t, f, pct, ok / span, cpu
        }'
done
