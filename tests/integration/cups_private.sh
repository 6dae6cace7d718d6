# Sourced by the printing tests: a private CUPS scheduler in a folder of the test's own (config,
# spool, logs, port), so the system's CUPS is never touched.
#   cups_private_start DIR   sets CUPSD_PID and PORT, exports CUPS_SERVER; returns 1 with the
#                            reason in CUPS_WHY when cupsd cannot be started (the test skips)
#   cups_private_stop        ends it (safe to call twice, and when it never started)
# Filters run as user lp, so DIR is made reachable by it and the caller must be root.

cups_private_start() {
	local d=$1 up=0
	CUPSD_PID="" CUPS_WHY=""
	chmod 755 "$d"
	mkdir -p "$d/conf/ppd" "$d/spool" "$d/tmp" "$d/cache" "$d/state" "$d/log" "$d/raw"
	chmod 1777 "$d/tmp"
	chmod 777 "$d/raw"
	cp /etc/cups/raw.types /etc/cups/raw.convs "$d/conf/" 2>/dev/null || true
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)
	[ -n "$PORT" ] || PORT=$((20000 + RANDOM % 20000))
	cat >"$d/conf/cups-files.conf" <<EOF
ServerRoot $d/conf
RequestRoot $d/spool
TempDir $d/tmp
CacheDir $d/cache
StateDir $d/state
ServerBin /usr/lib/cups
DataDir /usr/share/cups
DocumentRoot /usr/share/cups/doc-root
ErrorLog $d/log/error_log
AccessLog $d/log/access_log
PageLog $d/log/page_log
Printcap $d/printcap
FileDevice Yes
User lp
Group lp
SystemGroup root
EOF
	cat >"$d/conf/cupsd.conf" <<EOF
LogLevel debug
Listen 127.0.0.1:$PORT
ServerName 127.0.0.1
Browsing No
WebInterface No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
    Allow all
  </Limit>
</Policy>
EOF
	cupsd -f -c "$d/conf/cupsd.conf" -s "$d/conf/cups-files.conf" >"$d/log/cupsd.out" 2>&1 &
	CUPSD_PID=$!
	export CUPS_SERVER="127.0.0.1:$PORT"
	for _ in $(seq 1 100); do
		if ! kill -0 "$CUPSD_PID" 2>/dev/null; then
			cat "$d/log/cupsd.out" "$d/log/error_log" >&2 2>/dev/null
			CUPSD_PID=""
			CUPS_WHY="the private cupsd exited at start (see above)"
			return 1
		fi
		if lpstat -r 2>/dev/null | grep -q "is running"; then
			up=1
			break
		fi
		sleep 0.1
	done
	[ "$up" -eq 1 ] && return 0
	CUPS_WHY="the private cupsd on port $PORT did not answer within 10 s"
	return 1
}

cups_private_stop() {
	if [ -n "${CUPSD_PID:-}" ]; then
		kill "$CUPSD_PID" 2>/dev/null
		wait "$CUPSD_PID" 2>/dev/null
		CUPSD_PID=""
	fi
}
