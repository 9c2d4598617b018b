#!/bin/sh
# Builds Switchboard's fuzz targets on the stable toolchain and runs them (see README.md).
#
#   crates/fuzz/run.sh TARGET [SECONDS] [libFuzzer flags...]
#       fuzz TARGET for SECONDS (default 600), one process, at low priority; new inputs go to
#       corpus/TARGET/ (ignored by git, next to the committed seed-* files), failures to
#       artifacts/TARGET/.
#   crates/fuzz/run.sh --replay [TARGET...]
#       run every seed (and every input found so far) of the given targets, or of all of them,
#       once: a quick check that no known input fails.
#
# CARGO_TARGET_DIR is honoured. No nightly toolchain is needed: without a sanitizer,
# cargo-fuzz passes only stable compiler flags (coverage instrumentation, debug assertions).
# Only the media_* targets build the media crates (libopus: cmake and a C compiler).
set -eu

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$fuzz_dir/../.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$fuzz_dir/target}

# The cargo features a target needs.
features() {
    case "$1" in
    media_*) ;;
    *) echo --no-default-features ;;
    esac
}

if [ "${1:-}" = "--replay" ]; then
    shift
    targets=${*:-$(cargo fuzz list --fuzz-dir crates/fuzz)}
    for t in $targets; do
        echo "== $t"
        # shellcheck disable=SC2046 # the feature flag is one word or none
        nice -n 10 cargo fuzz build --sanitizer none --fuzz-dir crates/fuzz \
            --target-dir "$target_dir" $(features "$t") "$t"
        "$target_dir/x86_64-unknown-linux-gnu/release/$t" -runs=0 "crates/fuzz/corpus/$t"
    done
    exit 0
fi

target=${1:?usage: run.sh TARGET [SECONDS] [libFuzzer flags...] | run.sh --replay [TARGET...]}
seconds=${2:-600}
shift
[ $# -gt 0 ] && shift
mkdir -p "crates/fuzz/corpus/$target"
# shellcheck disable=SC2046 # the feature flag is one word or none
exec nice -n 10 cargo fuzz run --sanitizer none --fuzz-dir crates/fuzz \
    --target-dir "$target_dir" $(features "$target") "$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 "$@"
