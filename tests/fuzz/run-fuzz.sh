#!/usr/bin/env bash
# run-fuzz.sh BINARY SECONDS [libfuzzer|replay]: the short fuzz step ctest runs for one target. Seeds a fresh corpus
# (seeds.sh), runs the inputs once, then fuzzes for SECONDS; a crash leaves its input as
# BINARY-crash-* next to the binary and is printed as a C byte array for a regression test.
# A target built without libFuzzer (gcc, fuzz_replay.c; mode "replay") only replays the corpus.
set -uo pipefail
bin=$1
seconds=${2:-6}
mode=${3:-libfuzzer}
name=$(basename "$bin")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/seeds.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/espfab-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
fuzz_seed_corpus "$name" "$work/corpus"
echo "$name: $(ls "$work/corpus" | wc -l) seed inputs"

if [ "$mode" = replay ]; then
	"$bin" "$work/corpus"
	exit
fi

"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	-print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1
rc=$?
grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)' "$work/log"
if [ $rc -ne 0 ]; then
	tail -n 60 "$work/log"
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -f "$f" ] || continue
		cp "$f" "$(dirname "$bin")/$name-$(basename "$f")"
		echo "input ($(stat -c %s "$f") bytes), kept as $(dirname "$bin")/$name-$(basename "$f"):"
		od -An -v -tx1 "$f" | head -c 8000 | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1, /g'
	done
	exit 1
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
echo "$name: ${execs:-?} executions in ${seconds}s, no crash"
