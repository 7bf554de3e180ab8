#!/usr/bin/env bash
# The archives nvcc builds (//fallback/cuda's cuda_library targets) hold no
# instantiation of absl's hash containers. nvcc's host compiler builds them
# without the sanitizers; their weak raw_hash_set symbols, linked into every
# binary with the GPU kernels, would take the place of the instrumented ones
# in an ASan build, which then reports a container's own slots as poisoned
# (found 2026-11-29: //tests:compile_test under --config=asan-ubsan). Use
# plain arrays or std containers in .cu files. Without CUDA there are no
# archives and nothing to check.
set -uo pipefail
if (($# == 0)); then
  echo "no nvcc archives (built without CUDA): nothing to check"
  exit 0
fi
fail=0
for archive in "$@"; do
  if ! symbols="$(nm -C "${archive}" 2>&1)"; then
    echo "FAIL: nm ${archive}: ${symbols}"
    fail=1
    continue
  fi
  found="$(grep -E 'container_internal::raw_hash_set<' <<<"${symbols}" | grep -E ' [TWVU] ' | grep -vE ' U ' | head -3)"
  if [[ -n "${found}" ]]; then
    echo "FAIL: ${archive} defines absl hash-container code:"
    echo "${found}"
    fail=1
  else
    echo "ok: ${archive}"
  fi
done
((fail == 0)) && echo "PASS"
exit "${fail}"
