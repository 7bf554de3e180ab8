#!/usr/bin/env bash
# Interleaved A/B timing of generated-kernel options on a GPU host, from a
# bundle made by tools/bundle/make_bundle.sh (it needs //benchmarks:gpu_bench):
#
#   tools/bundle/gpu_ab.sh BUNDLE LOG_DIR GRAPH_DIR VARIANT...
#   tools/bundle/gpu_ab.sh bundle /tmp/ab /tmp/graphs \
#       default=launch_variants=1 \
#       t128=launch_variants=1,pointwise_block_threads=128 \
#       'clean_l2=launch_variants=1;--flush=read'
#
# Each VARIANT is NAME=EMIT[;FLAGS]: gpu_bench runs with SLUICE_CUDA_EMIT=EMIT
# (unset when EMIT is empty: sluice::Compile's defaults, autotuning
# included; an EMIT without launch_variants=1 turns the autotuner off, see
# sluice/compile.h) and FLAGS added to its command line (space-separated,
# e.g. --flush=read or --fast_math). NAME is letters, digits, '_' and '-'.
# Every round runs each variant once, in the order given, the first
# variant of round r being the r-th (rotated), so that a drift of the GPU's
# clocks or temperature over the run falls on every variant alike
# (benchmarks/NOTES.md's A/B tables are made this way). Each run is a fresh
# gpu_bench process: a cold compile, autotuning, then the graphs of
# GRAPH_DIR timed by do_bench's procedure.
#
# Writes LOG_DIR/<NAME>_<round>.json (gpu_bench --sluice_json), the runs'
# logs under LOG_DIR/logs/, and LOG_DIR/ab_table.md: per graph, each
# variant's times in round order and their median, in µs. Prints the
# table. Exits non-zero when a run failed (the table then has what ran).
#
# Environment: ROUNDS (default 3), BENCH_FLAGS (extra gpu_bench flags for
# every variant), PYTHON (default python3).
set -uo pipefail

if (($# < 4)); then
  sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
bundle="$(cd "$1" && pwd)" || exit 2
mkdir -p "$2" || exit 2
log_dir="$(cd "$2" && pwd)"
graphs="$3"
shift 3
rounds="${ROUNDS:-3}"
if ! [[ ${rounds} =~ ^[1-9][0-9]*$ ]]; then
  echo "gpu_ab: ROUNDS must be a positive integer, not '${rounds}'" >&2
  exit 2
fi
if [[ ! -d ${graphs} ]]; then
  echo "gpu_ab: no graph folder '${graphs}'" >&2
  exit 2
fi
names=()
emits=()
flags=()
for v in "$@"; do
  if [[ ${v} != *=* ]]; then
    echo "gpu_ab: a variant is NAME=EMIT[;FLAGS], not '${v}'" >&2
    exit 2
  fi
  name="${v%%=*}"
  rest="${v#*=}"
  if ! [[ ${name} =~ ^[A-Za-z0-9_-]+$ ]]; then
    echo "gpu_ab: variant name '${name}' is not letters, digits, '_' and '-'" >&2
    exit 2
  fi
  for n in "${names[@]+"${names[@]}"}"; do
    if [[ ${n} == "${name}" ]]; then
      echo "gpu_ab: variant '${name}' given twice" >&2
      exit 2
    fi
  done
  names+=("${name}")
  if [[ ${rest} == *";"* ]]; then
    emits+=("${rest%%;*}")
    flags+=("${rest#*;}")
  else
    emits+=("${rest}")
    flags+=("")
  fi
done

rc=0
n=${#names[@]}
for ((r = 1; r <= rounds; ++r)); do
  for ((k = 0; k < n; ++k)); do
    i=$(((k + r - 1) % n))
    name="${names[i]}"
    env_args=()
    [[ -n ${emits[i]} ]] && env_args=("SLUICE_CUDA_EMIT=${emits[i]}")
    # shellcheck disable=SC2086
    env -u SLUICE_CUDA_EMIT "${env_args[@]+"${env_args[@]}"}" \
      "${bundle}/run_all.sh" --benchmarks-only --filter 'benchmarks:gpu_bench' \
      "${log_dir}/logs/${name}_${r}" -- --graphs "${graphs}" \
      --sluice_json "${log_dir}/${name}_${r}.json" --warm_repeats 0 --no_clean_l2 \
      ${BENCH_FLAGS:-} ${flags[i]} >/dev/null 2>&1
    status=$?
    echo "round ${r} ${name}: exit ${status}"
    ((status != 0)) && rc=1
  done
done

"${PYTHON:-python3}" - "${log_dir}" "${rounds}" "${names[@]}" <<'PY' | tee "${log_dir}/ab_table.md"
import json, os, statistics, sys

log_dir, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times = {}  # graph -> name -> [us per round, None where the run failed]
for name in names:
    for r in range(1, rounds + 1):
        path = os.path.join(log_dir, f"{name}_{r}.json")
        try:
            with open(path) as f:
                runs = json.load(f)
        except (OSError, ValueError):
            runs = {}
        for graph, fig in runs.items():
            times.setdefault(graph, {}).setdefault(name, [None] * rounds)[r - 1] = fig.get("us")
print("| graph | variant | µs, round by round | median |")
print("|---|---|---|---|")
for graph in sorted(times):
    for name in names:
        got = times[graph].get(name, [None] * rounds)
        done = [t for t in got if t is not None]
        cells = ", ".join("-" if t is None else f"{t:.1f}" for t in got)
        median = f"{statistics.median(done):.1f}" if done else "-"
        print(f"| {graph} | {name} | {cells} | {median} |")
PY
exit ${rc}
