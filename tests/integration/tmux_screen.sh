# Sourced by the TUI tests: a tmux server of the test's own (its socket named after the test and
# its pid, so parallel tests never meet) and the verbs the tests use on the TUI's screen.
# Set TUI_SESSION to the tmux session the TUI runs in before sourcing; the test defines fail().
#   tm ARGS...              tmux on the test's own server
#   screen [SESSION]        the screen's text now
#   wait_for TEXT [SECONDS] until the screen shows TEXT (default 20 s), else fail
#   keys KEY...             type keys, then give the TUI a moment to draw

SOCK="espfab-$(basename "$0" .sh)-$$"
tm() { tmux -L "$SOCK" "$@"; }
screen() { tm capture-pane -p -t "${1:-$TUI_SESSION}"; }
wait_for() {
	local i n=$(( ${2:-20} * 10 ))
	for ((i = 0; i < n; i++)); do
		screen | grep -qF -- "$1" && return 0
		sleep 0.1
	done
	fail "screen never showed '$1'"
}
keys() { tm send-keys -t "$TUI_SESSION" "$@"; sleep 0.3; }
