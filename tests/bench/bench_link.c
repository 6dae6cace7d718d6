/* bench_link: provisioning write speed over the device link against the throttled espfab-sim
 * (UART pacing and flash timings on). Writes two provisioning partitions (esp_secure_cert 8 KiB
 * + factory NVS 24 KiB = 32 KiB) at 115200, 460800 and 921600 baud, compressed and not, and
 * prints the measured time beside the wire limit: bytes that crossed the link x 10 / baud plus
 * the simulator's flash model (erase 45 ms per 4 KiB sector, program 0.7 ms per 256-byte page,
 * MD5 0.25 ms per KiB, the simulator's own constants). Also the time from port open to chip
 * identified (type, revision, MAC) and to the session being ready (eFuses read, flash attached).
 * Usage: bench_link [ESPFAB_SIM_BIN] [CHIP] */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/rng.h"
#include "loader/flasher.h"
#include "loader/loader.h"
#include "sim/sim_flash.h"

static pid_t sim_spawn(const char *bin, const char *chip, const char *dir, char *url, size_t n)
{
	char flash[512], efuse[512];
	snprintf(flash, sizeof flash, "%s/flash.bin", dir);
	snprintf(efuse, sizeof efuse, "%s/efuse.bin", dir);
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		int dn = open("/dev/null", O_WRONLY);
		dup2(dn, 2);
		close(p[0]);
		execl(bin, bin, "--chip", chip, "--tcp", "0", "--flash", flash, "--efuse", efuse,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[200];
	size_t len = 0;
	struct pollfd pf = {p[0], POLLIN, 0};
	while (len < sizeof line - 1 && poll(&pf, 1, 10000) > 0 && read(p[0], line + len, 1) == 1 &&
	       line[len] != '\n')
		len++;
	line[len] = '\0';
	close(p[0]);
	const char *hp = strstr(line, "tcp ");
	if (!hp) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -1;
	}
	snprintf(url, n, "socket://%s", hp + 4);
	return pid;
}

/* A partition image: `used` bytes of content, the rest erased flash. */
static void make_partition(buf_t *b, size_t size, size_t used)
{
	buf_append_fill(b, 0xFF, size);
	rng_fill_bytes(b->data, used);
}

static double flash_model_ms(size_t bytes)
{
	size_t sectors = (bytes + SIM_FLASH_SECTOR - 1) / SIM_FLASH_SECTOR,
	       pages = (bytes + SIM_FLASH_PAGE - 1) / SIM_FLASH_PAGE;
	return (sectors * SIM_FLASH_SECTOR_ERASE_US + pages * SIM_FLASH_PAGE_PROGRAM_US +
		bytes / 1024.0 * SIM_FLASH_MD5_US_PER_KIB) / 1000.0;
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : getenv("ESPFAB_SIM_BIN");
	const char *chip = argc > 2 ? argv[2] : "esp32c3";
	if (!bin)
		bin = "./espfab-sim";
	if (access(bin, X_OK)) {
		fprintf(stderr, "bench_link: simulator %s not found (pass its path)\n", bin);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	char dir[] = "/tmp/bench_link_XXXXXX";
	if (!mkdtemp(dir))
		return 2;
	buf_t cert = BUF_INIT, nvs = BUF_INIT;
	make_partition(&cert, 0x2000, 3700);
	make_partition(&nvs, 0x6000, 4500);
	struct flash_region rg[2] = {{0xD000, cert.data, cert.len}, {0x10000, nvs.data, nvs.len}};
	size_t payload = cert.len + nvs.len;
	static const unsigned bauds[] = {115200, 460800, 921600};
	printf("espfab device-link benchmark, chip %s, throttled espfab-sim, payload %zu bytes "
	       "(2 partitions)\n\n", chip, payload);
	printf("%-8s %-8s %7s %8s %9s %9s %8s %6s %6s %6s %6s\n", "baud", "mode", "wire B",
	       "wire ms", "flash ms", "limit ms", "took ms", "ratio", "id ms", "ready", "cmds");
	int rc = 0;
	for (size_t b = 0; b < sizeof bauds / sizeof bauds[0]; b++) {
		for (int compress = 1; compress >= 0; compress--) {
			char url[128];
			pid_t pid = sim_spawn(bin, chip, dir, url, sizeof url);
			if (pid < 0) {
				fprintf(stderr, "bench_link: cannot start %s\n", bin);
				return 2;
			}
			struct loader_opts o;
			loader_opts_init(&o);
			o.port = url;
			o.baud = bauds[b];
			o.before = ROM_RESET_NONE;
			o.after = ROM_AFTER_NO_RESET;
			loader_t l;
			err_t e = {0};
			if (loader_open(&l, &o, &e)) {
				fprintf(stderr, "bench_link: %s\n", e.msg);
				rc = 1;
			} else {
				struct flash_write_opts wo;
				flash_write_opts_init(&wo);
				wo.compress = compress;
				unsigned long connect_cmds = l.conn.commands;
				uint64_t w0 = l.t->bytes_written, r0 = l.t->bytes_read;
				uint64_t t0 = transport_now_ms();
				if (flasher_write(&l, rg, 2, &wo, NULL, &e)) {
					fprintf(stderr, "bench_link: %s\n", e.msg);
					rc = 1;
				}
				double took = (double)(transport_now_ms() - t0);
				uint64_t wire = (l.t->bytes_written - w0) + (l.t->bytes_read - r0);
				double wire_ms = (double)wire * 10.0 * 1000.0 / bauds[b];
				double fl_ms = flash_model_ms(payload);
				double limit = wire_ms + fl_ms;
				printf("%-8u %-8s %7llu %8.0f %9.0f %9.0f %8.0f %6.2f %6llu %6llu %6lu\n",
				       bauds[b], compress ? "deflate" : "raw", (unsigned long long)wire,
				       wire_ms, fl_ms, limit, took, took / limit,
				       (unsigned long long)l.info.identified_ms,
				       (unsigned long long)l.info.connect_ms, connect_cmds);
				loader_close(&l);
			}
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
		}
	}
	printf("\nwire B = bytes both ways during the write (SLIP framed, incl. MD5 verify);\n"
	       "limit = wire B x 10 / baud + simulated flash time; ratio = took / limit.\n"
	       "id ms = port open -> chip type, revision and MAC known; ready = port open -> eFuses\n"
	       "read and flash attached (loader_open returns); cmds = ROM commands until ready.\n");
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	buf_free_data(&cert);
	buf_free_data(&nvs);
	return rc;
}
