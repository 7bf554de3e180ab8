#!/usr/bin/env bash
# Builds sluice's libFuzzer targets with clang (ASan + UBSan + libFuzzer) and
# runs each for a bounded time.
#
#   fuzz/run_fuzzers.sh [SECONDS] [--update-corpus] [--build-only]
#
# SECONDS (default 60) is the time per fuzzer; the fuzzers run side by side.
# The seed corpus is every .graph file of examples/, testdata/, ir/testdata/,
# benchmarks/graphs/ and passes/testdata/ (the golden files split at their
# "// -----" lines), the small .npy files of testdata/, and fuzz/corpus/ and
# fuzz/regressions/ themselves. With --update-corpus the run's corpus is merged
# (minimized by coverage) into fuzz/corpus/<fuzzer>/ for committing.
#
# A crash, leak, timeout or broken property stops that fuzzer, leaves the
# reproducer in fuzz/regressions/<fuzzer>/ (commit it: //fuzz:regressions_test
# replays every file there) and makes this script exit 1. Exit 2: the build
# failed or clang/libFuzzer is missing. The last line is "fuzz: passed" or
# "fuzz: FAILED (...)".
#
# Environment: CLANGXX (default clang++-14, else clang++), FUZZERS (default
# "parser_fuzzer npy_fuzzer"), FUZZ_JOBS (compile jobs, default nproc),
# FUZZ_BUILD_DIR (build there and keep the binaries, e.g. to replay one input:
#   FUZZ_BUILD_DIR=/tmp/fz fuzz/run_fuzzers.sh --build-only &&
#   /tmp/fz/parser_fuzzer fuzz/regressions/parser_fuzzer/crash-...).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="${PWD}"

seconds=60
update_corpus=0
build_only=0
for arg in "$@"; do
  case "${arg}" in
    --update-corpus) update_corpus=1 ;;
    --build-only) build_only=1 ;;
    ''|*[!0-9]*|0)
      echo "usage: fuzz/run_fuzzers.sh [SECONDS>0] [--update-corpus] [--build-only]" >&2
      exit 2 ;;
    *) seconds="${arg}" ;;
  esac
done
fuzzers=(${FUZZERS:-parser_fuzzer npy_fuzzer})

cxx="${CLANGXX:-}"
if [[ -z "${cxx}" ]]; then
  for c in clang++-14 clang++; do
    if command -v "${c}" >/dev/null 2>&1; then cxx="${c}"; break; fi
  done
fi
if [[ -z "${cxx}" ]] || ! command -v "${cxx}" >/dev/null 2>&1; then
  echo "fuzz: no clang++${CLANGXX:+ (CLANGXX=${CLANGXX})} (install clang-14 and libclang-rt-14-dev; ./bazelw does)"
  echo "fuzz: FAILED (no clang)"
  exit 2
fi
# libFuzzer comes in a separate package (libclang-rt-14-dev on Debian); without
# it the link would fail with a less helpful "cannot find" message. Runtime
# directories are <dir>/libclang_rt.fuzzer-<arch>.a (clang 14) or
# <dir>/libclang_rt.fuzzer.a (per-target layout of later versions).
rt_dir="$("${cxx}" -print-runtime-dir 2>/dev/null)"
if [[ ! -f "${rt_dir}/libclang_rt.fuzzer-$(uname -m).a" && ! -f "${rt_dir}/libclang_rt.fuzzer.a" ]]; then
  echo "fuzz: ${cxx} has no libFuzzer runtime in ${rt_dir:-its runtime directory}" \
    "(install libclang-rt-14-dev; ./bazelw does)"
  echo "fuzz: FAILED (no libFuzzer)"
  exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
bin="${work}"
if [[ -n "${FUZZ_BUILD_DIR:-}" ]]; then
  mkdir -p "${FUZZ_BUILD_DIR}" && bin="$(cd "${FUZZ_BUILD_DIR}" && pwd)" || exit 2
fi

# ---- Build ------------------------------------------------------------------
absl_modules=(absl_status absl_statusor absl_strings absl_str_format
  absl_flat_hash_map absl_flat_hash_set absl_span)
if ! absl_cflags="$(pkg-config --cflags "${absl_modules[@]}")" ||
   ! absl_libs="$(pkg-config --libs "${absl_modules[@]}")"; then
  echo "fuzz: pkg-config does not find Abseil (libabsl-dev)"
  echo "fuzz: FAILED (no Abseil)"
  exit 2
fi
cflags=(-std=c++17 -O1 -g -fno-omit-frame-pointer
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
  -I"${root}" ${absl_cflags})
ldflags=(-fsanitize=fuzzer,address,undefined ${absl_libs} -latomic -lrt -pthread)

ir_srcs=()
for f in ir/*.cc; do
  [[ "${f}" == *_test.cc ]] || ir_srcs+=("${f}")
done
common_srcs=("${ir_srcs[@]}" runtime/tensor.cc runtime/npy.cc
  fuzz/parser_target.cc fuzz/npy_target.cc)

build_start=${SECONDS}
echo "fuzz: compiling ${#common_srcs[@]} sources + ${#fuzzers[@]} fuzzers with ${cxx}"
mkdir -p "${work}/obj"
compile_one() {  # source -> obj/<path with / as _>.o
  local src="$1" obj="${work}/obj/${1//\//_}.o"
  "${cxx}" "${cflags[@]}" -c "${src}" -o "${obj}" 2>"${obj}.log" ||
    { echo "fuzz: compiling ${src} failed:"; cat "${obj}.log"; return 1; }
}
jobs="${FUZZ_JOBS:-$(nproc)}"
pids=()
build_ok=1
for src in "${common_srcs[@]}" "${fuzzers[@]/#/fuzz/}"; do
  [[ "${src}" == *.cc ]] || src="${src}.cc"
  while (( $(jobs -rp | wc -l) >= jobs )); do wait -n || build_ok=0; done
  compile_one "${src}" &
done
while (( $(jobs -rp | wc -l) > 0 )); do wait -n || build_ok=0; done
common_objs=()
for src in "${common_srcs[@]}"; do common_objs+=("${work}/obj/${src//\//_}.o"); done
if (( build_ok )); then
  for fz in "${fuzzers[@]}"; do
    if ! "${cxx}" "${common_objs[@]}" "${work}/obj/fuzz_${fz}.cc.o" "${ldflags[@]}" \
        -o "${bin}/${fz}" 2>"${work}/${fz}.link.log"; then
      echo "fuzz: linking ${fz} failed:"; cat "${work}/${fz}.link.log"
      build_ok=0
    fi
  done
fi
if (( ! build_ok )); then
  echo "fuzz: FAILED (build)"
  exit 2
fi
echo "fuzz: built in $((SECONDS - build_start)) s"
if (( build_only )); then
  echo "fuzz: built ${fuzzers[*]} in ${bin} (not run)"
  exit 0
fi

# ---- Seeds ------------------------------------------------------------------
seed_graphs() {  # dir: every .graph file, golden files split at "// -----"
  local out="$1" n=0 f
  while IFS= read -r -d '' f; do
    n=$((n + 1))
    awk -v base="${out}/$n" 'BEGIN { part = 0; file = base "_0.graph" }
      /^\/\/ -----/ { part++; file = base "_" part ".graph"; next }
      { print > file }' "${f}"
  done < <(find examples testdata ir/testdata benchmarks/graphs passes/testdata \
             -name '*.graph' -type f -print0 2>/dev/null)
}
seed_npys() {  # dir: the .npy files of testdata/ that fit in max_len
  local out="$1" max="$2"
  find testdata -name '*.npy' -type f -size -"$((max + 1))"c -print0 |
    xargs -0 -r cp -t "${out}" --backup=numbered
}

declare -A max_len=([parser_fuzzer]=8192 [npy_fuzzer]=4096)
declare -A dict=([parser_fuzzer]=fuzz/parser.dict [npy_fuzzer]=fuzz/npy.dict)

# ---- Run --------------------------------------------------------------------
echo "fuzz: running ${fuzzers[*]} for ${seconds} s each"
for fz in "${fuzzers[@]}"; do
  mkdir -p "${work}/${fz}.corpus" "${work}/${fz}.seeds" "fuzz/regressions/${fz}" "fuzz/corpus/${fz}"
  case "${fz}" in
    parser_fuzzer) seed_graphs "${work}/${fz}.seeds" ;;
    npy_fuzzer) seed_npys "${work}/${fz}.seeds" "${max_len[${fz}]}" ;;
  esac
  # Each run's timeout (a slow input is a failure too) and the whole run are
  # bounded; the outer `timeout` is a backstop should libFuzzer itself hang.
  timeout -k 10 $((seconds * 2 + 120)) "${bin}/${fz}" \
    -max_total_time="${seconds}" -max_len="${max_len[${fz}]}" -timeout=20 \
    -rss_limit_mb=2048 -dict="${dict[${fz}]}" -print_final_stats=1 \
    -artifact_prefix="${root}/fuzz/regressions/${fz}/" \
    "${work}/${fz}.corpus" "${work}/${fz}.seeds" "fuzz/corpus/${fz}" "fuzz/regressions/${fz}" \
    >"${work}/${fz}.log" 2>&1 &
  echo $! >"${work}/${fz}.pid"
done

failed=()
for fz in "${fuzzers[@]}"; do
  wait "$(cat "${work}/${fz}.pid")"
  rc=$?
  log="${work}/${fz}.log"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "${log}" | tail -1)"
  corpus="$(find "${work}/${fz}.corpus" -type f | wc -l)"
  cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "${log}" | tail -1)"
  if (( rc == 0 )); then
    echo "fuzz: ${fz}: ${execs:-?} executions in ${seconds} s (${rate:-?}/s), ${cov:-cov: ?}, ${corpus} new corpus inputs, no crash"
  else
    failed+=("${fz}")
    echo "fuzz: ${fz}: FAILED (exit ${rc}) after ${execs:-?} executions; the log's end:"
    grep -v '^#[0-9]' "${log}" | tail -60 | sed 's/^/    /'
    artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "${log}" | tail -1)"
    if [[ -n "${artifact}" ]]; then
      echo "fuzz: ${fz}: reproducer: ${artifact#"${root}/"}" \
        "(replay: bazel test //fuzz:regressions_test; commit it with the fix)"
    fi
  fi
  if (( update_corpus )); then
    before="$(find "fuzz/corpus/${fz}" -type f | wc -l)"
    mkdir -p "${work}/${fz}.merged"
    "${bin}/${fz}" -merge=1 -max_len="${max_len[${fz}]}" -timeout=20 \
      "${work}/${fz}.merged" "fuzz/corpus/${fz}" "${work}/${fz}.corpus" "${work}/${fz}.seeds" \
      >"${work}/${fz}.merge.log" 2>&1 &&
      rm -f "fuzz/corpus/${fz}"/* && cp "${work}/${fz}.merged"/* "fuzz/corpus/${fz}/" &&
      echo "fuzz: ${fz}: fuzz/corpus/${fz} now holds $(find "fuzz/corpus/${fz}" -type f | wc -l) inputs (was ${before})" ||
      echo "fuzz: ${fz}: merging the corpus failed (see ${work}/${fz}.merge.log)"
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED (${failed[*]})"
  exit 1
fi
echo "fuzz: passed"
