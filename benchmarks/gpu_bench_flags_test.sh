#!/usr/bin/env bash
# gpu_bench's flag checks, which need no GPU: each --flush and --timing it
# documents, and each flag it takes without a value, is accepted (without a
# GPU every benchmark then says why it cannot run and the binary exits 0);
# an unknown flag, and a misspelt --flush or --timing, is an error (exit 2,
# naming the choices) before anything is compiled or timed.
set -uo pipefail
bench="$1"
graphs="$(dirname "$2")"
fail=0
for flush in memset32 memset8 kernel read none; do
  if ! out="$("${bench}" --graphs "${graphs}" --flush="${flush}" \
      --benchmark_filter='^$' 2>&1)"; then
    echo "FAIL: --flush=${flush} was rejected: ${out}"
    fail=1
  fi
done
# Flags without a value.
for flag in --no_clean_l2 --fast_math --no_split_reductions; do
  if ! out="$("${bench}" --graphs "${graphs}" "${flag}" --benchmark_filter='^$' 2>&1)"; then
    echo "FAIL: ${flag} was rejected: ${out}"
    fail=1
  fi
done
if out="$("${bench}" --graphs "${graphs}" --no_such_flag --benchmark_filter='^$' 2>&1)"; then
  echo "FAIL: --no_such_flag was accepted: ${out}"
  fail=1
fi
out="$("${bench}" --flush=bogus 2>&1)"
rc=$?
if ((rc != 2)) || [[ "${out}" != *"--flush is memset32, memset8, kernel, read or none, not 'bogus'"* ]]; then
  echo "FAIL: --flush=bogus: exit ${rc}, output: ${out}"
  fail=1
fi
out="$("${bench}" --timing=sometimes 2>&1)"
rc=$?
if ((rc != 2)) || [[ "${out}" != *"--timing is dobench or back_to_back"* ]]; then
  echo "FAIL: --timing=sometimes: exit ${rc}, output: ${out}"
  fail=1
fi
((fail == 0)) && echo "PASS"
exit "${fail}"
