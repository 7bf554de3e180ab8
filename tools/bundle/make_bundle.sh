#!/usr/bin/env bash
# Packs sluice test and benchmark binaries into one folder that runs on a GPU
# host without Bazel, Abseil, glog & co. installed:
#
#   tools/bundle/make_bundle.sh OUT_DIR TARGET_PATTERN...
#   tools/bundle/make_bundle.sh bundle //runtime/cuda/... //benchmarks:softmax_benchmark
#   # copy bundle/ to the GPU host, then there:
#   bundle/run_all.sh LOG_DIR            # every test, then every benchmark
#
# What it does:
#   1. `bazel query` expands the patterns to cc_test targets (tests) and
#      cc_binary targets that depend on @benchmark (benchmarks); other targets
#      are ignored.
#   2. `bazel build` builds them (BAZEL_FLAGS, default `-c opt`).
#   3. Each binary goes to OUT_DIR/bin/<package>/<name> (stripped) with its
#      runfiles (testdata and other data files, symlinks resolved) in
#      OUT_DIR/runfiles/<package>/<name>.runfiles/.
#   4. Every shared library a binary needs (ldd) that a bare Ubuntu 24.04 does
#      not have goes to OUT_DIR/lib/, stripped: Bazel's own _solib_* libraries
#      of sluice, libabsl_*, libglog, libgflags, libunwind, libbenchmark, ...
#      Not copied: the glibc set (libc, libm, libdl, libpthread, librt,
#      ld-linux, ...), libstdc++ and libgcc_s (the host's are newer and
#      backward compatible), and the CUDA libraries (libcuda, libnvrtc,
#      libcublas, ...): sluice dlopens those from the host's driver and
#      toolkit; a binary that links one directly is an error.
#   5. OUT_DIR/run_all.sh (tools/bundle/run_all.sh) and OUT_DIR/manifest.tsv
#      (kind, label, binary, runfiles) drive the runs; OUT_DIR/BUNDLE_INFO.txt
#      records the commit, flags and the newest glibc/libstdc++ symbol
#      versions the bundle needs (the GPU host has glibc 2.39 and GCC 14's
#      libstdc++, GLIBCXX_3.4.33).
#   6. Fails when the bundle is larger than MAX_BUNDLE_MIB (default 60).
#
# Environment:
#   BAZEL                 bazel command (default: ./bazelw if present, else bazel)
#   BAZEL_STARTUP_FLAGS   e.g. "--output_base=$HOME/.cache/bazel-ob-bundle"
#   BAZEL_FLAGS           build flags (default: "-c opt"); add
#                         --disk_cache=... as for any build
#   MAX_BUNDLE_MIB        size limit (default 60)
#   MAX_GLIBC             newest glibc symbol version allowed (default 2.39)
#
# The functions below are also sourced by tools/bundle/bundle_test.sh, which
# bundles prebuilt binaries without running Bazel.
set -euo pipefail

BUNDLE_TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Shared libraries never bundled: the host provides them.
is_system_library() {
  case "$1" in
    linux-vdso.so.* | ld-linux*.so.* | libc.so.* | libm.so.* | libdl.so.* | \
      libpthread.so.* | librt.so.* | libresolv.so.* | libutil.so.* | libanl.so.* | \
      libmvec.so.* | libnsl.so.* | libBrokenLocale.so.* | libstdc++.so.* | libgcc_s.so.*)
      return 0 ;;
  esac
  return 1
}

# CUDA libraries: sluice dlopens them; a dynamic link to one is a bug.
is_cuda_library() {
  case "$1" in
    libcuda.so* | libnvrtc* | libcublas* | libcudart* | libnvJitLink* | libcudnn*)
      return 0 ;;
  esac
  return 1
}

# Prints "soname path" for each library `binary` needs (ldd's view).
needed_libraries() {
  local binary="$1"
  local line
  ldd "${binary}" | while read -r line; do
    if [[ "${line}" == *"=> not found"* ]]; then
      echo "make_bundle: ${binary} needs ${line%% *}, which ldd cannot find" >&2
      return 1
    elif [[ "${line}" =~ ^([^[:space:]]+)\ =\>\ (/[^[:space:]]+) ]]; then
      echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
    fi
  done
}

# Copies `src` to `dst` and strips it (debug info and symbols not needed at
# run time; dynamic symbols stay).
copy_stripped() {
  local src="$1" dst="$2"
  mkdir -p "$(dirname "${dst}")"
  cp -fL "${src}" "${dst}"
  chmod u+w "${dst}"
  strip --strip-unneeded "${dst}" 2>/dev/null || true
}

# bundle_one OUT KIND LABEL BINARY RUNFILES_DIR
#   Adds one binary: its stripped copy, its runfiles, its libraries, and a
#   manifest line. RUNFILES_DIR may be empty (no runfiles).
bundle_one() {
  local out="$1" kind="$2" label="$3" binary="$4" runfiles="$5"
  local path="${label#//}"
  local package="${path%%:*}" name="${path##*:}"
  local rel_bin="bin/${package}/${name}"
  local rel_runfiles="runfiles/${package}/${name}.runfiles"

  copy_stripped "${binary}" "${out}/${rel_bin}"
  chmod 755 "${out}/${rel_bin}"

  mkdir -p "${out}/${rel_runfiles}/sluice"
  if [[ -n "${runfiles}" && -d "${runfiles}" ]]; then
    # Data files only: the binary itself, shared libraries (they go to lib/)
    # and Bazel's bookkeeping stay behind.
    (cd "${runfiles}" && find -L . \( -type f -o -type l \) \
      ! -name '*.so' ! -name '*.so.*' ! -path '*/_solib_*' ! -name MANIFEST \
      ! -name _repo_mapping ! -path "./sluice/${package}/${name}" -print0) |
      while IFS= read -r -d '' file; do
        mkdir -p "${out}/${rel_runfiles}/$(dirname "${file}")"
        cp -fL "${runfiles}/${file}" "${out}/${rel_runfiles}/${file}"
      done
  fi

  mkdir -p "${out}/lib"
  local soname lib_path
  while read -r soname lib_path; do
    [[ -z "${soname}" ]] && continue
    if is_system_library "${soname}"; then
      continue
    elif is_cuda_library "${soname}"; then
      echo "make_bundle: ${label} links ${soname} dynamically; sluice must dlopen CUDA" \
        "libraries (runtime/cuda/symbols.h)" >&2
      return 1
    elif [[ ! -e "${out}/lib/${soname}" ]]; then
      copy_stripped "${lib_path}" "${out}/lib/${soname}"
    fi
  done < <(needed_libraries "$(readlink -f "${binary}")")

  printf '%s\t%s\t%s\t%s\n' "${kind}" "${label}" "${rel_bin}" "${rel_runfiles}" \
    >>"${out}/manifest.tsv"
}

# The newest symbol version of `prefix` (GLIBC_ or GLIBCXX_) any file in the
# bundle needs, e.g. "2.34".
newest_symbol_version() {
  local out="$1" prefix="$2"
  find "${out}/bin" "${out}/lib" -type f -print0 |
    xargs -0 objdump -T 2>/dev/null |
    grep -o "${prefix}[0-9][0-9.]*" | sed "s/^${prefix}//" | sort -V | tail -1
}

# Checks the glibc requirement and the size, and writes BUNDLE_INFO.txt.
finish_bundle() {
  local out="$1" flags="$2"
  cp -f "${BUNDLE_TOOLS_DIR}/run_all.sh" "${out}/run_all.sh"
  chmod 755 "${out}/run_all.sh"

  local glibc glibcxx
  glibc="$(newest_symbol_version "${out}" GLIBC_)"
  glibcxx="$(newest_symbol_version "${out}" GLIBCXX_)"
  local max_glibc="${MAX_GLIBC:-2.39}"
  if [[ -n "${glibc}" && "$(printf '%s\n%s\n' "${glibc}" "${max_glibc}" | sort -V | tail -1)" != "${max_glibc}" ]]; then
    echo "make_bundle: the bundle needs glibc ${glibc}, newer than ${max_glibc}" >&2
    return 1
  fi

  local bytes mib
  bytes="$(du -sb "${out}" | cut -f1)"
  mib=$(((bytes + 1048575) / 1048576))
  {
    echo "sluice bundle"
    echo "commit: $(git -C "${BUNDLE_TOOLS_DIR}" rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)"
    echo "bazel flags: ${flags}"
    echo "newest glibc symbol version needed: ${glibc:-none}"
    echo "newest libstdc++ symbol version needed: GLIBCXX_${glibcxx:-none}"
    echo "size: ${mib} MiB"
    echo "binaries: $(wc -l <"${out}/manifest.tsv")"
    echo "libraries: $(find "${out}/lib" -type f | wc -l)"
  } >"${out}/BUNDLE_INFO.txt"
  cat "${out}/BUNDLE_INFO.txt"

  local max_mib="${MAX_BUNDLE_MIB:-60}"
  if ((mib > max_mib)); then
    echo "make_bundle: the bundle is ${mib} MiB, over the ${max_mib} MiB limit" >&2
    echo "make_bundle: largest files:" >&2
    find "${out}" -type f -printf '%s %P\n' | sort -rn | head -10 >&2
    return 1
  fi
}

main() {
  if (($# < 2)); then
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
  fi
  local out
  out="$(realpath -m "$1")"
  shift
  local repo
  repo="$(cd "${BUNDLE_TOOLS_DIR}/../.." && pwd)"
  cd "${repo}"
  local bazel="${BAZEL:-}"
  if [[ -z "${bazel}" ]]; then
    if [[ -x ./bazelw ]]; then bazel=./bazelw; else bazel=bazel; fi
  fi
  # shellcheck disable=SC2206  # flags are meant to split on spaces
  local startup=(${BAZEL_STARTUP_FLAGS:-})
  # shellcheck disable=SC2206
  local flags=(${BAZEL_FLAGS:--c opt})

  local universe
  universe="$(printf ' + %s' "$@")"
  universe="(${universe# + })"
  local tests benchmarks
  tests="$("${bazel}" "${startup[@]}" query --noshow_progress \
    "kind('cc_test rule', ${universe})")"
  benchmarks="$("${bazel}" "${startup[@]}" query --noshow_progress \
    "kind('cc_binary rule', ${universe}) intersect rdeps(${universe}, @benchmark//:benchmark)" \
    2>/dev/null || true)"
  if [[ -z "${tests}${benchmarks}" ]]; then
    echo "make_bundle: no cc_test or benchmark targets in: $*" >&2
    exit 1
  fi
  # shellcheck disable=SC2086  # one label per line
  "${bazel}" "${startup[@]}" build "${flags[@]}" ${tests} ${benchmarks}
  local bin
  bin="$("${bazel}" "${startup[@]}" info "${flags[@]}" bazel-bin 2>/dev/null)"

  if [[ -e "${out}" && ! -f "${out}/manifest.tsv" && -n "$(ls -A "${out}" 2>/dev/null)" ]]; then
    echo "make_bundle: ${out} exists and is not a bundle; not overwriting it" >&2
    exit 1
  fi
  rm -rf "${out}"
  mkdir -p "${out}"
  : >"${out}/manifest.tsv"

  local label path
  for label in ${tests}; do
    path="${label#//}"
    bundle_one "${out}" test "${label}" "${bin}/${path/://}" "${bin}/${path/://}.runfiles"
  done
  for label in ${benchmarks}; do
    path="${label#//}"
    bundle_one "${out}" benchmark "${label}" "${bin}/${path/://}" "${bin}/${path/://}.runfiles"
  done
  finish_bundle "${out}" "${flags[*]}"
  echo "make_bundle: wrote ${out}; run ${out}/run_all.sh LOG_DIR on the GPU host"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
