#!/usr/bin/env bash
# gpu_ab.sh against a fake bundle whose run_all.sh stands in for gpu_bench:
# it records each call's SLUICE_CUDA_EMIT and gpu_bench arguments and writes
# a --sluice_json whose times encode the call. Checks the rotated round
# order, the environment and flags each variant runs with, the table's
# rounds and medians, a failed run, and the refusals of bad arguments.
set -uo pipefail

ab="${TEST_SRCDIR}/sluice/tools/bundle/gpu_ab.sh"
tmp="${TEST_TMPDIR}"
fails=0
fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

bundle="${tmp}/bundle"
mkdir -p "${bundle}" "${tmp}/graphs"
calls="${tmp}/calls.txt"
: >"${calls}"
cat >"${bundle}/run_all.sh" <<EOF
#!/usr/bin/env bash
# Fake: [--benchmarks-only] [--filter RE] LOG -- GPU_BENCH_ARGS...
while ((\$# > 0)) && [[ \$1 != -- ]]; do shift; done
shift
json=""
args=()
while ((\$# > 0)); do
  case "\$1" in
    --sluice_json) json="\$2"; shift ;;
    --graphs) shift ;;
    *) args+=("\$1") ;;
  esac
  shift
done
emit="\${SLUICE_CUDA_EMIT-<unset>}"
echo "\${emit}|\${args[*]}" >>"${calls}"
[[ \${emit} == fail ]] && exit 1
n=\$(wc -l <"${calls}")
# us: 100 for launch_variants=1, 200 for anything else, +10 per --flush=read,
# plus the call's number / 10 (so that rounds differ).
base=200
[[ \${emit} == launch_variants=1 ]] && base=100
[[ " \${args[*]} " == *" --flush=read "* ]] && base=\$((base + 10))
printf '{"g1": {"us": %d.%d}, "g2": {"us": %d.%d}}\n' "\${base}" "\${n}" "\$((base + 1))" "\${n}" >"\${json}"
EOF
chmod +x "${bundle}/run_all.sh"

# Three variants, three rounds: the order rotates; the empty EMIT runs with
# SLUICE_CUDA_EMIT unset even when the caller has it set; FLAGS and
# BENCH_FLAGS reach gpu_bench.
out="$(SLUICE_CUDA_EMIT=from_caller BENCH_FLAGS=--fast_math ROUNDS=3 \
  "${ab}" "${bundle}" "${tmp}/log" "${tmp}/graphs" \
  lv=launch_variants=1 plain= 'clean=launch_variants=1;--flush=read' 2>&1)"
rc=$?
((rc == 0)) || fail "exit ${rc}: ${out}"
expected="launch_variants=1|--warm_repeats 0 --no_clean_l2 --fast_math
<unset>|--warm_repeats 0 --no_clean_l2 --fast_math
launch_variants=1|--warm_repeats 0 --no_clean_l2 --fast_math --flush=read
<unset>|--warm_repeats 0 --no_clean_l2 --fast_math
launch_variants=1|--warm_repeats 0 --no_clean_l2 --fast_math --flush=read
launch_variants=1|--warm_repeats 0 --no_clean_l2 --fast_math
launch_variants=1|--warm_repeats 0 --no_clean_l2 --fast_math --flush=read
launch_variants=1|--warm_repeats 0 --no_clean_l2 --fast_math
<unset>|--warm_repeats 0 --no_clean_l2 --fast_math"
[[ "$(cat "${calls}")" == "${expected}" ]] || fail "calls were:
$(cat "${calls}")
expected:
${expected}"
table="$(cat "${tmp}/log/ab_table.md")"
# lv ran as calls 1, 6, 8; plain as 2, 4, 9; clean as 3, 5, 7.
for row in "| g1 | lv | 100.1, 100.6, 100.8 | 100.6 |" \
  "| g1 | plain | 200.2, 200.4, 200.9 | 200.4 |" \
  "| g1 | clean | 110.3, 110.5, 110.7 | 110.5 |" \
  "| g2 | lv | 101.1, 101.6, 101.8 | 101.6 |"; do
  [[ ${table} == *"${row}"* ]] || fail "no row '${row}' in:
${table}"
done
[[ ${out} == *"| g2 | clean |"* ]] || fail "the table is not printed: ${out}"
[[ -f ${tmp}/log/clean_3.json ]] || fail "no clean_3.json"

# A run that fails: exit 1, its rounds shown as "-", the others' kept.
: >"${calls}"
ROUNDS=2 "${ab}" "${bundle}" "${tmp}/log2" "${tmp}/graphs" ok=launch_variants=1 bad=fail \
  >"${tmp}/out2.txt" 2>&1
rc=$?
((rc == 1)) || fail "a failed run exited ${rc}"
grep -qF "| g1 | bad | -, - | - |" "${tmp}/log2/ab_table.md" || fail "failed rounds not '-':
$(cat "${tmp}/log2/ab_table.md")"
grep -qF "| g1 | ok | 100.1, 100.4 | 100.2 |" "${tmp}/log2/ab_table.md" ||
  fail "the good variant's rounds: $(cat "${tmp}/log2/ab_table.md")"

# Refused before anything runs (exit 2, a message naming the problem).
refused() {
  local want="$1"
  shift
  : >"${calls}"
  local msg
  msg="$("${ab}" "$@" 2>&1)"
  local code=$?
  ((code == 2)) || fail "'$*' exited ${code}, not 2"
  [[ ${msg} == *"${want}"* ]] || fail "'$*' said '${msg}', not '${want}'"
  [[ ! -s ${calls} ]] || fail "'$*' ran gpu_bench"
}
refused "NAME=EMIT[;FLAGS]" "${bundle}" "${tmp}/l3" "${tmp}/graphs" a=x noequals
refused "given twice" "${bundle}" "${tmp}/l3" "${tmp}/graphs" a=x a=y
refused "is not letters" "${bundle}" "${tmp}/l3" "${tmp}/graphs" 'a b=x'
refused "no graph folder" "${bundle}" "${tmp}/l3" "${tmp}/nowhere" a=x
ROUNDS=0 refused "ROUNDS must be a positive integer" "${bundle}" "${tmp}/l3" "${tmp}/graphs" a=x

((fails == 0)) && echo "PASS"
exit $((fails > 0))
