#!/usr/bin/env bash
# scripts/bench.sh: end-to-end timing of `archc check`, `archc plan` or `archc generate` on
# synthetic valid programs.
#
#   scripts/bench.sh              # check: 1,000 and 10,000 components, 10 timed runs each
#   BENCH_CMD=plan scripts/bench.sh       # archc plan FILE --format json -o OUT
#   BENCH_CMD=generate scripts/bench.sh   # archc generate FILE -o DIR (100 and 1,000 components)
#   RUNS=20 scripts/bench.sh
#   SIZES="1000 10000 20000" scripts/bench.sh
#   scripts/bench.sh --enforce    # exit 1 when a target is missed (for CI)
#
# Builds the release binaries, writes each program with `archc-synth N`, then measures the
# whole process (start to exit) of `target/release/archc check FILE`: the median wall time
# (hyperfine when installed, else a `date +%s%N` loop), the CPU time (user + system) and
# peak resident memory of one run (GNU `/usr/bin/time -v`), the file size and the growth
# from the smallest to the largest size.
# Prints a markdown table; docs/benchmarks.md records the figures.
#
# Targets (the issues): the 10,000-component program checks in under 300 ms and plans in
# under 500 ms, a 1,000-component program generates in under 2 s; 10x the components costs
# at most 11x the time, and peak memory stays under 200 MB.
#
# Tools: as root with apt-get, installs `hyperfine` and `time` when missing (set
# BENCH_NO_INSTALL=1 to skip); without hyperfine, or with BENCH_TIMER=loop, the loop
# fallback is used.

set -euo pipefail

enforce=0
for arg in "$@"; do
    case "$arg" in
        --enforce) enforce=1 ;;
        -h | --help)
            sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "usage: scripts/bench.sh [--enforce]" >&2
            exit 2
            ;;
    esac
done

BENCH_CMD=${BENCH_CMD:-check}
case "$BENCH_CMD" in
    check) TARGET_MS=300; default_sizes="1000 10000" ;;
    plan) TARGET_MS=500; default_sizes="1000 10000" ;;
    generate) TARGET_MS=2000; default_sizes="100 1000" ;;
    *)
        echo "BENCH_CMD must be check, plan or generate" >&2
        exit 2
        ;;
esac
RUNS=${RUNS:-10}
SIZES=${SIZES:-$default_sizes}
MAX_GROWTH=1.1  # time ratio / component ratio, largest to smallest: 10x the components, at most 11x the time
MAX_RSS_MB=200

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
out="$target_dir/bench"
mkdir -p "$out"

# ---- tools -----------------------------------------------------------------------------
install_pkg() {
    [ "${BENCH_NO_INSTALL:-0}" = 1 ] && return 1
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
    if [ -z "${apt_updated:-}" ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1
}
command -v hyperfine >/dev/null || install_pkg hyperfine || true
[ -x /usr/bin/time ] || install_pkg time || true
if [ ! -x /usr/bin/time ]; then
    echo "error: GNU time (/usr/bin/time) is needed for peak memory; install the 'time' package" >&2
    exit 2
fi

# ---- build and generate ----------------------------------------------------------------
echo "building release binaries..." >&2
cargo build --release --quiet --bin archc --bin archc-synth
archc="$target_dir/release/archc"
synth="$target_dir/release/archc-synth"

# Sets `cmd` to the measured command for program FILE of size N. `generate` writes into a
# fresh directory each run (removed first), so every run is a first generation.
set_cmd() { # n file
    case "$BENCH_CMD" in
        check) cmd=("$archc" check "$2") ;;
        plan) cmd=("$archc" plan "$2" --format json -o "$out/plan-$1.json") ;;
        generate) cmd=(sh -c 'rm -rf "$2" && exec "$0" generate "$1" -o "$2"' "$archc" "$2" "$out/gen-$1") ;;
    esac
}

use_hyperfine() { [ "${BENCH_TIMER:-}" != loop ] && command -v hyperfine >/dev/null; }

median_ms() { # command...: median wall time in ms over $RUNS runs, after one warm-up run
    if use_hyperfine; then
        local json="$out/hyperfine.json"
        hyperfine --style none --warmup 1 --runs "$RUNS" -N -i --export-json "$json" \
            "$(printf '%q ' "$@")" >/dev/null 2>&1
        # `"median": 0.123,` in seconds.
        sed -n 's/.*"median": *\([0-9.eE+-]*\).*/\1/p' "$json" | head -n 1 |
            awk '{ printf "%.1f", $1 * 1000 }'
    else
        "$@" >/dev/null 2>&1 || true
        local times=() i t0 t1
        for ((i = 0; i < RUNS; i++)); do
            t0=$(date +%s%N)
            "$@" >/dev/null 2>&1 || true
            t1=$(date +%s%N)
            times+=($(((t1 - t0) / 1000)))
        done
        printf '%s\n' "${times[@]}" | sort -n |
            awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'
    fi
}

time_v() { # command...: one run under GNU time; prints "peak_rss_kb cpu_ms" (user + system)
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': *' '
        /Maximum resident set size/ { rss = $2 }
        /User time \(seconds\)/ { cpu += $2 }
        /System time \(seconds\)/ { cpu += $2 }
        END { printf "%s %.0f\n", rss, cpu * 1000 }'
}

timer=$(use_hyperfine && echo "hyperfine $(hyperfine --version | cut -d' ' -f2), median of $RUNS runs after 1 warm-up" || echo "date +%s%N loop, median of $RUNS runs after 1 warm-up")

declare -A ms rss cpu bytes comps summary
invalid=0
for n in $SIZES; do
    file="$out/synth-$n.arch"
    "$synth" "$n" >"$file" 2>"$out/synth-$n.log"
    comps[$n]=$(sed -n 's/^archc-synth: \([0-9]*\) components.*/\1/p' "$out/synth-$n.log")
    bytes[$n]=$(wc -c <"$file" | tr -d ' ')
    set +e
    report=$("$archc" check "$file" 2>&1)
    code=$?
    set -e
    set_cmd "$n" "$file"
    summary[$n]=$(tail -n 1 <<<"$report")
    if [ "$code" != 0 ]; then
        echo "warning: archc check exited with $code on $file: not a clean program" >&2
        invalid=1
    fi
    echo "  $n: ${comps[$n]} components, ${bytes[$n]} bytes, archc check: ${summary[$n]}" >&2
    ms[$n]=$(median_ms "${cmd[@]}")
    read -r "rss[$n]" "cpu[$n]" < <(time_v "${cmd[@]}")
done

# ---- report ----------------------------------------------------------------------------
read -r -a sizes <<<"$SIZES"
small=${sizes[0]}
large=${sizes[${#sizes[@]} - 1]}
ok=$((1 - invalid))
echo
echo "archc $BENCH_CMD, end to end (process start to exit), release build: ${cmd[*]}"
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
echo "date: $(date -u +%Y-%m-%d), machine: $(nproc) cores, $(uname -m), load average at the end: $load"
echo "timing: $timer"
echo
echo "| components | file size | wall time (median) | CPU time (1 run) | peak RSS | result |"
echo "|---:|---:|---:|---:|---:|---|"
for n in $SIZES; do
    mb=$(awk -v b="${bytes[$n]}" 'BEGIN { printf "%.2f MB", b / 1e6 }')
    rss_mb=$(awk -v k="${rss[$n]}" 'BEGIN { printf "%.1f MiB", k / 1024 }')
    echo "| ${comps[$n]} | $mb | ${ms[$n]} ms | ${cpu[$n]} ms | $rss_mb | ${summary[$n]} |"
    awk -v k="${rss[$n]}" -v max="$MAX_RSS_MB" 'BEGIN { exit !(k / 1024 < max) }' || ok=0
done
echo
verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "MISSED"; fi; }
t_ok=$(awk -v t="${ms[$large]}" -v max="$TARGET_MS" 'BEGIN { print (t < max) ? 1 : 0 }')
[ "$t_ok" = 1 ] || ok=0
echo "- ${comps[$large]} components in ${ms[$large]} ms; target < $TARGET_MS ms: $(verdict "$t_ok")"
if [ "$small" != "$large" ]; then
    growth=$(awk -v a="${ms[$small]}" -v b="${ms[$large]}" 'BEGIN { printf "%.1f", b / a }')
    factor=$(awk -v a="${comps[$small]}" -v b="${comps[$large]}" 'BEGIN { printf "%.1f", b / a }')
    allowed=$(awk -v f="$factor" -v m="$MAX_GROWTH" 'BEGIN { printf "%.1f", f * m }')
    g_ok=$(awk -v g="$growth" -v max="$allowed" 'BEGIN { print (g <= max) ? 1 : 0 }')
    [ "$g_ok" = 1 ] || ok=0
    echo "- time grows ${growth}x for ${factor}x the components; target <= ${allowed}x ($MAX_GROWTH x the component factor): $(verdict "$g_ok")"
fi
r_ok=$(awk -v k="${rss[$large]}" -v max="$MAX_RSS_MB" 'BEGIN { print (k / 1024 < max) ? 1 : 0 }')
echo "- peak memory $(awk -v k="${rss[$large]}" 'BEGIN { printf "%.1f", k / 1024 }') MiB; target < $MAX_RSS_MB MiB: $(verdict "$r_ok")"
echo
echo "files: $out/synth-N.arch (regenerate with: $synth N > FILE)"

if [ "$enforce" = 1 ] && [ "$ok" = 0 ]; then
    exit 1
fi
