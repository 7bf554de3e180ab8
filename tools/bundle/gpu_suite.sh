#!/usr/bin/env bash
# The GPU checks of issues 7 and 8 on a GPU host, from a bundle made by
# tools/bundle/make_bundle.sh and this repository's checkout (for
# benchmarks/torch_bench.py and tools/*.py):
#
#   tools/bundle/gpu_suite.sh BUNDLE LOG_DIR [tests] [sanitizer] [bench]
#
# Steps (all three when none is named):
#   tests      every test of the bundle (BUNDLE/run_all.sh --tests-only):
#              LOG_DIR/tests/summary.txt and one .log/.xml per binary.
#   sanitizer  compute-sanitizer memcheck (with --leak-check full) and
#              racecheck over the CUDA cases of the end-to-end tests and the
#              GPU fallback kernels: LOG_DIR/sanitizer/{memcheck,racecheck}/.
#              kernel_fault_test faults on purpose and device_test provokes API
#              errors on purpose, so the first is left out and API errors are
#              not reported (--report-api-errors no).
#   bench      gpu_bench (sluice through sluice::Compile on CUDA; its figures
#              to LOG_DIR/sluice.json and its inputs/outputs as .npy), then
#              benchmarks/torch_bench.py on the same inputs: PyTorch eager and
#              Inductor timed in the same run, outputs checked against sluice's,
#              the table in LOG_DIR/RESULTS_table.md and LOG_DIR/torch.json.
#
# Environment: PYTHON (default python3), NPY_DIR (default
# ${TMPDIR:-/tmp}/sluice_gpu_suite_npy, kept out of LOG_DIR: large,
# ~10 GB for the suite), TORCH_BENCH_FLAGS (extra flags for torch_bench.py,
# e.g. --no_cold_compile), BENCH_FLAGS (extra flags for gpu_bench), ROUNDS
# (default 1: bench runs gpu_bench ROUNDS times, LOG_DIR/sluice.json then
# sluice_2.json ..., and torch_bench.py times eager and Inductor ROUNDS times;
# the table has each side's median, the rounds are listed under it).
# Exits non-zero when a step failed; LOG_DIR/gpu_suite.txt says which.
set -uo pipefail

if (($# < 2)); then
  sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
bundle="$(cd "$1" && pwd)"
mkdir -p "$2"
log_dir="$(cd "$2" && pwd)"
shift 2
steps=("$@")
((${#steps[@]} == 0)) && steps=(tests sanitizer bench)
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${PYTHON:-python3}"
summary="${log_dir}/gpu_suite.txt"
: >"${summary}"
rc=0

say() { echo "$1" | tee -a "${summary}"; }

step_tests() {
  "${bundle}/run_all.sh" --tests-only "${log_dir}/tests"
}

step_sanitizer() {
  local src=0
  # The end-to-end tests (their CPU cases run too: they touch no GPU memory),
  # the GPU fallback kernels and the runtime's device, kernel-module and
  # cuBLAS tests.
  local filter='tests:(seed_selective_lowering|ops|differential|cuda)_test|fallback/cuda:gpu_kernels_test|runtime/cuda:(device|execution_device|cublas)_test'
  local tool
  for tool in memcheck racecheck; do
    local extra=""
    [[ ${tool} == memcheck ]] && extra="--leak-check full"
    RUN_WRAPPER="compute-sanitizer --tool ${tool} ${extra} --error-exitcode 99 --report-api-errors no" \
      "${bundle}/run_all.sh" --tests-only --filter "${filter}" \
      "${log_dir}/sanitizer/${tool}" || src=1
    # The tool's own verdict lines, for the record (racecheck's is "RACECHECK
    # SUMMARY: N hazards displayed (N errors, N warnings)").
    grep -hE "(ERROR|RACECHECK) SUMMARY" "${log_dir}/sanitizer/${tool}"/*.log 2>/dev/null |
      sort | uniq -c >"${log_dir}/sanitizer/${tool}/error_summaries.txt"
  done
  return ${src}
}

step_bench() {
  local npy="${NPY_DIR:-${TMPDIR:-/tmp}/sluice_gpu_suite_npy}"
  mkdir -p "${npy}"
  local rounds="${ROUNDS:-1}"
  if ! [[ ${rounds} =~ ^[1-9][0-9]*$ ]]; then
    echo "ROUNDS must be a positive integer, not '${rounds}'" >&2
    return 1
  fi
  # shellcheck disable=SC2086
  "${bundle}/run_all.sh" --benchmarks-only --filter 'benchmarks:gpu_bench' \
    "${log_dir}/bench" -- --sluice_json "${log_dir}/sluice.json" \
    --save_npy "${npy}" ${BENCH_FLAGS:-} || return 1
  local jsons="${log_dir}/sluice.json" r
  for ((r = 2; r <= rounds; ++r)); do
    # Timings only: the first round's inputs and outputs are the check's.
    # shellcheck disable=SC2086
    "${bundle}/run_all.sh" --benchmarks-only --filter 'benchmarks:gpu_bench' \
      "${log_dir}/bench_${r}" -- --sluice_json "${log_dir}/sluice_${r}.json" \
      ${BENCH_FLAGS:-} || return 1
    jsons="${jsons},${log_dir}/sluice_${r}.json"
  done
  # shellcheck disable=SC2086
  (cd "${repo}" && "${python}" benchmarks/torch_bench.py \
    --sluice_json "${jsons}" --inductor_rounds "${rounds}" \
    --markdown "${log_dir}/RESULTS_table.md" --json_out "${log_dir}/torch.json" \
    ${TORCH_BENCH_FLAGS:-}) 2>&1 | tee "${log_dir}/torch_bench.log"
  return "${PIPESTATUS[0]}"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
  >"${log_dir}/gpu.txt" 2>&1
say "GPU: $(head -1 "${log_dir}/gpu.txt")"
for step in "${steps[@]}"; do
  start=${SECONDS}
  case "${step}" in
    tests | sanitizer | bench) "step_${step}" ;;
    *) echo "unknown step '${step}' (tests, sanitizer, bench)" >&2; exit 2 ;;
  esac
  if (($? == 0)); then
    say "ok      ${step} ($((SECONDS - start)) s)"
  else
    say "FAILED  ${step} ($((SECONDS - start)) s)"
    rc=1
  fi
done
exit ${rc}
