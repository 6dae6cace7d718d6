#!/usr/bin/env bash
# run-long.sh [BUILD_DIR] [SECONDS_PER_TARGET] [TARGET...]: fuzzes by hand for longer than CI
# does. The corpus of each target is kept in BUILD_DIR/fuzz-corpus/TARGET and grows from run to
# run; crash inputs land in BUILD_DIR/fuzz-artifacts/. Build first, with clang:
#   CC=clang cmake -S . -B build-fuzz -DESPFAB_FUZZ=ON && cmake --build build-fuzz -j2 --target fuzz_targets
# FUZZ_JOBS=N runs N processes per target (libFuzzer -fork).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../../build-fuzz}
seconds=${2:-600}
# absolute: some targets work in a scratch folder of their own (fuzz_seccert_csv)
build=$(cd "$build" && pwd) || exit 2
shift 2 2>/dev/null || shift $#
. "$here/seeds.sh"
export ESPFAB_VECTORS=${ESPFAB_VECTORS:-$here/../../../shared/vectors}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$build"/tests/fuzz/fuzz_*; do
		[ -x "$f" ] && targets+=("$(basename "$f")")
	done
fi
[ ${#targets[@]} -gt 0 ] || { echo "run-long.sh: no fuzz targets in $build/tests/fuzz" >&2; exit 2; }

mkdir -p "$build/fuzz-artifacts"
status=0
printf '%-22s %12s %8s %s\n' target executions corpus result
for t in "${targets[@]}"; do
	corpus=$build/fuzz-corpus/$t
	fuzz_seed_corpus "$t" "$corpus"
	log=$build/fuzz-artifacts/$t.log
	"$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 ${FUZZ_JOBS:+-fork=$FUZZ_JOBS -ignore_crashes=1} \
		-artifact_prefix="$build/fuzz-artifacts/$t-" "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	result=ok
	[ $rc -eq 0 ] || { result="CRASH (see $log)"; status=1; }
	printf '%-22s %12s %8s %s\n' "$t" "${execs:-?}" "$(ls "$corpus" | wc -l)" "$result"
done
exit $status
