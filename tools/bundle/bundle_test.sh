#!/usr/bin/env bash
# Bundles two prebuilt binaries (a gtest test with a data file and shared
# Abseil/glog, and a benchmark with shared libbenchmark) with make_bundle.sh's
# functions, then runs the bundle's run_all.sh with an empty loader path and
# checks what it copied, what it left out and what the runs wrote.
set -euo pipefail

runfiles="${TEST_SRCDIR}"
tools="${runfiles}/sluice/tools/bundle"
# shellcheck source=tools/bundle/make_bundle.sh
source "${tools}/make_bundle.sh"
BUNDLE_TOOLS_DIR="${tools}"

out="${TEST_TMPDIR}/bundle"
mkdir -p "${out}"
: >"${out}/manifest.tsv"
bundle_one "${out}" test //tools/bundle:bundle_fixture_test \
  "${tools}/bundle_fixture_test" "${runfiles}"
bundle_one "${out}" benchmark //tools/bundle:bundle_fixture_benchmark \
  "${tools}/bundle_fixture_benchmark" "${runfiles}"
finish_bundle "${out}" "(prebuilt)"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# What went in, and what stayed out.
ls "${out}/lib" | grep -q '^libabsl_strings' || fail "libabsl_strings not bundled"
ls "${out}/lib" | grep -q '^libglog' || fail "libglog not bundled"
ls "${out}/lib" | grep -q '^libbenchmark' || fail "libbenchmark not bundled"
for system in libc.so.6 libm.so.6 libstdc++.so.6 libgcc_s.so.1 ld-linux-x86-64.so.2; do
  [[ ! -e "${out}/lib/${system}" ]] || fail "${system} must not be bundled"
done
[[ -f "${out}/runfiles/tools/bundle/bundle_fixture_test.runfiles/sluice/tools/bundle/testdata/fixture.txt" ]] ||
  fail "data file not in the runfiles"
[[ ! -e "${out}/runfiles/tools/bundle/bundle_fixture_test.runfiles/sluice/tools/bundle/bundle_fixture_test" ]] ||
  fail "the binary must not be copied into its own runfiles"
if find "${out}/runfiles" -name '*.so*' | grep -q .; then fail "shared libraries in runfiles"; fi
if readelf -S "${out}/bin/tools/bundle/bundle_fixture_test" | grep -q ' \.symtab'; then
  fail "binary not stripped"
fi
grep -q '^newest glibc symbol version needed: 2\.' "${out}/BUNDLE_INFO.txt" ||
  fail "BUNDLE_INFO.txt lacks the glibc version"
[[ "$(wc -l <"${out}/manifest.tsv")" == 2 ]] || fail "manifest should list 2 binaries"

# A CUDA library linked directly is refused.
if (is_cuda_library libcublas.so.13 && is_cuda_library libcuda.so.1 &&
  ! is_cuda_library libabsl_base.so); then :; else fail "is_cuda_library"; fi

# Run it without the build tree's libraries on the loader path.
logs="${TEST_TMPDIR}/logs"
env -u LD_LIBRARY_PATH "${out}/run_all.sh" "${logs}" -- --benchmark_min_time=0.01 \
  >"${TEST_TMPDIR}/run_all.out" 2>&1 || {
  cat "${TEST_TMPDIR}/run_all.out" >&2
  for f in "${logs}"/*.log; do echo "== ${f}" >&2; cat "${f}" >&2; done
  fail "run_all.sh failed"
}
cat "${TEST_TMPDIR}/run_all.out"
grep -q '^PASS  test //tools/bundle:bundle_fixture_test (2 cases, SKIPPED 1' \
  "${TEST_TMPDIR}/run_all.out" || fail "test line"
grep -q '^PASS  benchmark //tools/bundle:bundle_fixture_benchmark' \
  "${TEST_TMPDIR}/run_all.out" || fail "benchmark line"
grep -q '^2 passed, 0 failed$' "${TEST_TMPDIR}/run_all.out" || fail "summary line"
grep -q 'ReadsItsDataFile' "${logs}/tools_bundle_bundle_fixture_test.xml" || fail "no XML"
grep -q 'BM_StringAppend' "${logs}/tools_bundle_bundle_fixture_benchmark.json" || fail "no JSON"
[[ -f "${logs}/summary.txt" ]] || fail "no summary.txt"

# A failing run is reported and makes run_all.sh fail: break the data file.
echo "something else" \
  >"${out}/runfiles/tools/bundle/bundle_fixture_test.runfiles/sluice/tools/bundle/testdata/fixture.txt"
if "${out}/run_all.sh" --tests-only "${TEST_TMPDIR}/logs2" >"${TEST_TMPDIR}/run2.out" 2>&1; then
  fail "run_all.sh passed with a failing test"
fi
grep -q '^FAIL  test //tools/bundle:bundle_fixture_test' "${TEST_TMPDIR}/run2.out" ||
  fail "failure line"
grep -q '^0 passed, 1 failed$' "${TEST_TMPDIR}/run2.out" || fail "failure summary"
echo "bundle_test: OK"
