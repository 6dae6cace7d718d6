#!/usr/bin/env bash
# End-to-end printing: a private CUPS scheduler (own config, spool and port in a temporary
# folder, nothing of the system's CUPS touched) with a cups-pdf queue; `espfab label --print`
# sends a label PNG to it, the PDF that comes out is rasterised with pdftoppm and the QR code on
# it is decoded with zbarimg back to the exact payload. Also sends the ZPL form to a raw queue
# and checks the bytes arrive unchanged.
# Exit 77 (skipped) only when not root or when cupsd cannot be started; the reason goes to stderr.
set -u

skip() { echo "test_cups_print: SKIP: $*" >&2; exit 77; }
fail() {
	echo "test_cups_print: FAIL: $*" >&2
	if [ -n "${T:-}" ] && [ -f "$T/log/error_log" ]; then
		echo "--- last lines of the private cupsd error_log ---" >&2
		tail -n 40 "$T/log/error_log" >&2
	fi
	exit 1
}

[ "$(id -u)" -eq 0 ] || skip "needs root to run a private cupsd (filters run as user lp)"
for tool in cupsd lpadmin lpstat pdftoppm zbarimg; do
	command -v "$tool" >/dev/null 2>&1 ||
		skip "$tool is missing (.ci/install-deps.sh installs cups, printer-driver-cups-pdf, poppler-utils, zbar-tools)"
done
PPD=/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd
[ -x /usr/lib/cups/backend/cups-pdf ] && [ -f "$PPD" ] ||
	skip "the cups-pdf backend or its PPD is missing (package printer-driver-cups-pdf)"
ESPFAB=${ESPFAB_BIN:-}
[ -x "$ESPFAB" ] || fail "ESPFAB_BIN is not set to the espfab program; run through ctest"

PAYLOAD="MT:Y.K9042C00KA0648G00"
MANUAL="34970112332"
QUEUE="espfab-pdf-$$"
RAWQ="espfab-raw-$$"

. "$(dirname "$0")/cups_private.sh"
T=$(mktemp -d /tmp/espfab-cups.XXXXXX) || fail "mktemp"
CUPSD_PID=""
LISTENER=""
cleanup() {
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
	cups_private_stop
	[ -n "${ANON_DIR:-}" ] && [ -n "${TITLE:-}" ] && rm -f "$ANON_DIR"/*"$TITLE"*.pdf
	rm -f "/var/log/cups/cups-pdf-${QUEUE}_log" # cups-pdf's per-queue log of this run
	[ -n "${ESPFAB_KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# cups-pdf takes its output folder only from its system-wide configuration (/etc/cups), which a
# test must not change. A job from a user name unknown to the system is "anonymous" and lands in
# the package's AnonDirName (/var/spool/cups-pdf/ANONYMOUS by default): the test submits under
# such a name, finds its PDF by a title unique to this run, and removes it again.
ANON_USER="espfab-test-$$"
TITLE="espfab-test-label-$$"
ANON_DIR=$(sed -n 's/^[[:space:]]*AnonDirName[[:space:]]\{1,\}//p' /etc/cups/cups-pdf.conf 2>/dev/null | tail -n 1)
[ -n "$ANON_DIR" ] || ANON_DIR=/var/spool/cups-pdf/ANONYMOUS

cups_private_start "$T" || skip "$CUPS_WHY"

lpadmin -p "$QUEUE" -E -v cups-pdf:/ -P "$PPD" || fail "lpadmin could not add the cups-pdf queue $QUEUE"

# ---- PNG through cups-pdf ----
out=$(CUPS_USER="$ANON_USER" "$ESPFAB" label --qr "$PAYLOAD" --manual "$MANUAL" --serial SN-42 \
	--product "Smart Plug" --print "$QUEUE" --title "$TITLE" --wait 60 2>"$T/log/espfab.err") ||
	fail "espfab label --print exited $?: $(cat "$T/log/espfab.err")"
case "$out" in
"$QUEUE"-[0-9]*) ;;
*) fail "espfab label --print printed '$out', not the job id" ;;
esac

# --wait returned once the job completed, so cups-pdf has written the PDF
pdf=$(find "$ANON_DIR" -maxdepth 1 -name "*$TITLE*.pdf" -size +0 2>/dev/null | head -n 1)
[ -n "$pdf" ] || fail "job $out completed but there is no PDF named after $TITLE in $ANON_DIR"

pdftoppm -r 300 -png "$pdf" "$T/page" || fail "pdftoppm could not render $pdf"
page=$(ls "$T"/page*.png 2>/dev/null | head -n 1)
[ -n "$page" ] || fail "pdftoppm wrote no page"
decoded=$(zbarimg --raw -q "$page" 2>/dev/null)
[ "$decoded" = "$PAYLOAD" ] || fail "the printed PDF decodes to '$decoded', not '$PAYLOAD'"
echo "test_cups_print: PNG label printed through CUPS to PDF and decoded: $decoded"

# ---- a printer that never answers: --wait reports it instead of claiming success ----
DEADQ="espfab-dead-$$"
lpadmin -p "$DEADQ" -E -v "socket://127.0.0.1:1" || fail "lpadmin could not add the queue $DEADQ"
"$ESPFAB" label --qr "$PAYLOAD" --manual "$MANUAL" --print "$DEADQ" --raw --wait 3 >/dev/null 2>"$T/log/espfab.err"
rc=$?
[ "$rc" -eq 3 ] || fail "printing to an unreachable printer with --wait exited $rc, not 3"
grep -q "$DEADQ" "$T/log/espfab.err" || fail "the --wait error does not name the job: $(cat "$T/log/espfab.err")"
cancel -a "$DEADQ" 2>/dev/null
echo "test_cups_print: unreachable printer reported: $(cat "$T/log/espfab.err")"

# ---- ZPL through a raw queue to an AppSocket (port 9100 style) printer ----
# A Zebra printer on the network is a raw queue with a socket:// device; a listener stands in for
# it and records the bytes it receives, which must be the ZPL exactly.
if ! command -v python3 >/dev/null 2>&1; then
	echo "test_cups_print: python3 missing, raw ZPL part not run" >&2
	exit 0
fi
python3 - "$T/raw/out.zpl" "$T/raw/port" <<'PY' &
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(60)
open(sys.argv[2], "w").write(str(srv.getsockname()[1]))
conn, _ = srv.accept()
conn.settimeout(60)
data = b""
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    data += chunk
open(sys.argv[1] + ".part", "wb").write(data)
import os
os.rename(sys.argv[1] + ".part", sys.argv[1])
PY
LISTENER=$!
for _ in $(seq 1 50); do [ -s "$T/raw/port" ] && break; sleep 0.1; done
[ -s "$T/raw/port" ] || fail "the stand-in printer did not start"
lpadmin -p "$RAWQ" -E -v "socket://127.0.0.1:$(cat "$T/raw/port")" ||
	fail "lpadmin could not add the raw queue $RAWQ"
"$ESPFAB" label --qr "$PAYLOAD" --manual "$MANUAL" --print-to "$T/expected.zpl" --raw ||
	fail "espfab label --print-to failed"
"$ESPFAB" label --qr "$PAYLOAD" --manual "$MANUAL" --print "$RAWQ" --raw --wait 60 >/dev/null 2>"$T/log/espfab.err" ||
	fail "espfab label --print --raw exited $?: $(cat "$T/log/espfab.err")"
wait "$LISTENER" || fail "the stand-in printer received no job"
cmp "$T/expected.zpl" "$T/raw/out.zpl" >&2 ||
	fail "the printer received different bytes than the ZPL file"
grep -q "\^FDMA,$PAYLOAD\^FS" "$T/raw/out.zpl" || fail "the raw ZPL lacks the QR field"
echo "test_cups_print: ZPL sent raw arrived byte for byte"
exit 0
