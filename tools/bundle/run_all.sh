#!/usr/bin/env bash
# Runs every test and benchmark of a sluice bundle (made by
# tools/bundle/make_bundle.sh) on this machine, without Bazel.
#
#   run_all.sh [--tests-only | --benchmarks-only] [--filter REGEX] LOG_DIR [-- ARGS...]
#
# Each test runs from its runfiles directory (as under `bazel test`, so
# testdata paths resolve) with TEST_SRCDIR, TEST_WORKSPACE, TEST_TMPDIR and
# XML_OUTPUT_FILE set, and writes LOG_DIR/<label>.log and LOG_DIR/<label>.xml
# (--gtest_output). Each benchmark writes LOG_DIR/<label>.log and
# LOG_DIR/<label>.json (--benchmark_out). ARGS after `--` go to every binary
# (e.g. -- --gtest_filter=Cuda* or -- --benchmark_min_time=0.1).
# --filter keeps the targets whose label matches REGEX (grep -E).
#
# Prints one line per binary and a summary (also in LOG_DIR/summary.txt);
# exits non-zero when a binary failed. A test whose every case was skipped
# (e.g. no GPU) counts as passed and is listed as "SKIPPED n".
# Environment: TEST_TIMEOUT (seconds per binary, default 900); RUN_WRAPPER
# (a command each binary runs under, e.g. "compute-sanitizer --tool memcheck
# --error-exitcode 1": its exit status then decides the verdict).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode=all
filter=""
log_dir=""
extra_args=()
while (($# > 0)); do
  case "$1" in
    --tests-only) mode=tests ;;
    --benchmarks-only) mode=benchmarks ;;
    --filter) filter="$2"; shift ;;
    --filter=*) filter="${1#--filter=}" ;;
    --) shift; extra_args=("$@"); break ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) log_dir="$1" ;;
  esac
  shift
done
if [[ -z "${log_dir}" ]]; then
  echo "usage: $0 [--tests-only|--benchmarks-only] [--filter REGEX] LOG_DIR [-- ARGS...]" >&2
  exit 2
fi
mkdir -p "${log_dir}"
log_dir="$(cd "${log_dir}" && pwd)"
export LD_LIBRARY_PATH="${HERE}/lib${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"
timeout_s="${TEST_TIMEOUT:-900}"

passed=0
failed=0
failed_labels=()
summary="${log_dir}/summary.txt"
: >"${summary}"

report() {
  echo "$1" | tee -a "${summary}"
}

# Counts <testcase> results in a gtest XML file: "cases skipped failures".
xml_counts() {
  local xml="$1"
  [[ -f "${xml}" ]] || { echo "0 0 0"; return; }
  local cases skipped failures
  cases="$(grep -c '<testcase ' "${xml}")"
  skipped="$(grep -c 'result="skipped"' "${xml}")"
  failures="$(grep -c '<failure ' "${xml}")"
  echo "${cases} ${skipped} ${failures}"
}

while IFS=$'\t' read -r kind label binary runfiles; do
  [[ -z "${kind}" ]] && continue
  [[ "${mode}" == tests && "${kind}" != test ]] && continue
  [[ "${mode}" == benchmarks && "${kind}" != benchmark ]] && continue
  if [[ -n "${filter}" ]] && ! grep -Eq -- "${filter}" <<<"${label}"; then continue; fi
  name="$(sed 's#^//##; s#[/:]#_#g' <<<"${label}")"
  log="${log_dir}/${name}.log"
  workdir="${HERE}/${runfiles}/sluice"
  mkdir -p "${workdir}"
  tmp="$(mktemp -d)"
  start=$(date +%s)
  if [[ "${kind}" == test ]]; then
    xml="${log_dir}/${name}.xml"
    rm -f "${xml}"
    (cd "${workdir}" &&
      TEST_SRCDIR="${HERE}/${runfiles}" RUNFILES_DIR="${HERE}/${runfiles}" \
        TEST_WORKSPACE=sluice TEST_TMPDIR="${tmp}" XML_OUTPUT_FILE="${xml}" \
        timeout "${timeout_s}" ${RUN_WRAPPER:-} "${HERE}/${binary}" --gtest_output="xml:${xml}" \
        "${extra_args[@]}") >"${log}" 2>&1
    rc=$?
    read -r cases skipped failures < <(xml_counts "${xml}")
    detail="${cases} cases"
    ((skipped > 0)) && detail="${detail}, SKIPPED ${skipped}"
  else
    json="${log_dir}/${name}.json"
    (cd "${workdir}" &&
      timeout "${timeout_s}" ${RUN_WRAPPER:-} "${HERE}/${binary}" --benchmark_out="${json}" \
        --benchmark_out_format=json "${extra_args[@]}") >"${log}" 2>&1
    rc=$?
    detail="$(grep -c '"name"' "${json}" 2>/dev/null || echo 0) results"
  fi
  rm -rf "${tmp}"
  seconds=$(($(date +%s) - start))
  if ((rc == 0)); then
    passed=$((passed + 1))
    report "PASS  ${kind} ${label} (${detail}, ${seconds}s)"
  else
    failed=$((failed + 1))
    failed_labels+=("${label}")
    why="exit ${rc}"
    ((rc == 124)) && why="timed out after ${timeout_s}s"
    report "FAIL  ${kind} ${label} (${why}, ${detail}; log: ${log})"
  fi
done <"${HERE}/manifest.tsv"

report "${passed} passed, ${failed} failed"
if ((failed > 0)); then
  report "failed: ${failed_labels[*]}"
  exit 1
fi
exit 0
