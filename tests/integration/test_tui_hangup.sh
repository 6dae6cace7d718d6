#!/bin/bash
# A closed terminal (SIGHUP) or a kill (SIGTERM) ends the TUI cleanly: the demo's simulator
# exits with it and the demo's temporary files are removed, also when the hangup comes in the
# middle of a run (the run is aborted at the next step and the journal keeps what was done).
set -u
ESPFAB=${ESPFAB_BIN:-}
[ -x "$ESPFAB" ] || { echo "ESPFAB_BIN not set"; exit 77; }
command -v tmux >/dev/null || { echo "tmux missing"; exit 77; }
SIM=${ESPFAB_SIM_BIN:-$(dirname "$ESPFAB")/espfab-sim}
[ -x "$SIM" ] || { echo "no espfab-sim"; exit 77; }

T=$(mktemp -d)
TUI_SESSION=demo
. "$(dirname "$0")/tmux_screen.sh"
cleanup() {
	tm kill-server 2>/dev/null
	for p in $(pgrep -f "^$SIM .*$T/" 2>/dev/null); do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	tm capture-pane -p -t demo 2>/dev/null
	cat "$T/stderr" 2>/dev/null
	exit 1
}

# start the demo in a fresh TMPDIR; prints nothing, sets DEMO (espfab's pid) and SIMP
start_demo() {
	mkdir -p "$T/$1"
	tm new-session -d -s demo -x 80 -y 24 \
		"cd '$T/$1' && XDG_CACHE_HOME='$T/cache' TMPDIR='$T/$1' LANG=C.UTF-8 LC_ALL=C.UTF-8 exec '$ESPFAB' demo --chip esp32h2 $2 2> '$T/stderr'" ||
		fail "tmux did not start"
	wait_for "plan ready: r runs it" 60
	DEMO=$(tm list-panes -t demo -F '#{pane_pid}')
	SIMP=$(pgrep -P "$DEMO" -f "espfab-sim")
	[ -n "$SIMP" ] || fail "no simulator child of the demo ($DEMO)"
}
gone() { # pid, what
	local i
	for i in $(seq 100); do
		[ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "$2 ($1) still running"
}

# 1. idle: the terminal closes
start_demo idle ""
ls -d "$T"/idle/espfab-demo-* >/dev/null 2>&1 || fail "no demo folder while running"
tm kill-server
gone "$DEMO" "espfab demo after SIGHUP"
gone "$SIMP" "the demo's simulator after SIGHUP"
! ls -d "$T"/idle/espfab-demo-* >/dev/null 2>&1 || fail "demo folder left behind after SIGHUP"

# 2. during a run: SIGTERM after the confirmation, files kept for the journal
start_demo run "--keep"
keys r
wait_for "IRREVERSIBLE" 60
keys B U R N Enter
wait_for "ok BURN!" 60
kill -TERM "$DEMO"
gone "$DEMO" "espfab demo after SIGTERM"
gone "$SIMP" "the demo's simulator after SIGTERM"
KEPT=$(sed -n 's/^espfab demo: files kept in //p' "$T/stderr")
[ -n "$KEPT" ] && [ -d "$KEPT" ] || fail "kept folder not named after SIGTERM"
[ -s "$KEPT/out/journal.db" ] || fail "no journal after the interrupted run"
grep -q "AddressSanitizer\|runtime error" "$T/stderr" && fail "sanitizer report"
echo "ok: SIGHUP and SIGTERM end the demo with its simulator, idle and mid-run"
