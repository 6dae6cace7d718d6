/* sim_fault: fault spec parsing and bookkeeping (see sim_fault.h). */
#include "sim/sim_fault.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int fault_parse_number(const char *spec, const char *s, uint64_t *out, err_t *e)
{
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return err_set_msg(e, ERR_USAGE, "--fault %s: missing number", spec);
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return err_set_msg(e, ERR_USAGE, "--fault %s: '%s' is not a number", spec, s);
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	enum sim_fault_kind kind;
} fault_names[] = {
	{"drop", SIM_FAULT_DROP},
	{"corrupt", SIM_FAULT_CORRUPT},
	{"disconnect-after", SIM_FAULT_DISCONNECT_AFTER},
	{"reset-after", SIM_FAULT_RESET_AFTER},
	{"stall", SIM_FAULT_STALL},
};

int sim_fault_parse(const char *spec, struct sim_fault *f, err_t *e)
{
	memset(f, 0, sizeof(*f));
	const char *colon = strchr(spec, ':');
	if (!colon)
		return err_set_msg(e, ERR_USAGE,
				   "--fault %s: expected KIND:VALUE (drop:N, corrupt:N, disconnect-after:BYTES, reset-after:BYTES, stall:MS[@N])",
				   spec);
	size_t klen = (size_t)(colon - spec);
	size_t i;
	for (i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
		if (strlen(fault_names[i].name) == klen && strncmp(spec, fault_names[i].name, klen) == 0)
			break;
	if (i == sizeof(fault_names) / sizeof(fault_names[0]))
		return err_set_msg(e, ERR_USAGE, "--fault %s: unknown fault kind '%.*s'", spec, (int)klen,
				   spec);
	f->kind = fault_names[i].kind;
	const char *val = colon + 1;
	if (f->kind == SIM_FAULT_STALL) {
		char tmp[64];
		const char *at = strchr(val, '@');
		size_t mlen = at ? (size_t)(at - val) : strlen(val);
		if (mlen >= sizeof(tmp))
			return err_set_msg(e, ERR_USAGE, "--fault %s: value too long", spec);
		memcpy(tmp, val, mlen);
		tmp[mlen] = 0;
		if (fault_parse_number(spec, tmp, &f->ms, e))
			return -1;
		if (f->ms == 0 || f->ms > 600000)
			return err_set_msg(e, ERR_USAGE, "--fault %s: stall must be 1..600000 ms", spec);
		if (at) {
			if (fault_parse_number(spec, at + 1, &f->n, e))
				return -1;
			if (f->n == 0)
				return err_set_msg(e, ERR_USAGE, "--fault %s: frames are numbered from 1", spec);
			f->at_given = true;
		}
		return 0;
	}
	if (fault_parse_number(spec, val, &f->n, e))
		return -1;
	if (f->n == 0)
		return err_set_msg(e, ERR_USAGE, "--fault %s: %s", spec,
				   f->kind == SIM_FAULT_DROP || f->kind == SIM_FAULT_CORRUPT
					   ? "frames are numbered from 1"
					   : "the byte count must be at least 1");
	return 0;
}

int sim_fault_add(sim_faults_t *fs, const char *spec, err_t *e)
{
	if (fs->n >= SIM_FAULT_MAX)
		return err_set_msg(e, ERR_USAGE, "--fault %s: at most %d faults", spec, SIM_FAULT_MAX);
	if (sim_fault_parse(spec, &fs->list[fs->n], e))
		return -1;
	fs->n++;
	return 0;
}

struct sim_fault *sim_fault_take_frame(sim_faults_t *fs, enum sim_fault_kind kind, uint64_t frame)
{
	for (size_t i = 0; i < fs->n; i++) {
		struct sim_fault *f = &fs->list[i];
		if (f->kind == kind && !f->fired && f->n == frame) {
			f->fired = true;
			return f;
		}
	}
	return NULL;
}

size_t sim_fault_bytes_before(const sim_faults_t *fs, enum sim_fault_kind kind, uint64_t received,
			      size_t avail)
{
	size_t allow = avail;
	for (size_t i = 0; i < fs->n; i++) {
		const struct sim_fault *f = &fs->list[i];
		if (f->kind != kind || f->fired)
			continue;
		uint64_t left = f->n > received ? f->n - received : 0;
		if (left < allow)
			allow = (size_t)left;
	}
	return allow;
}

bool sim_fault_take_bytes(sim_faults_t *fs, enum sim_fault_kind kind, uint64_t received)
{
	bool any = false;
	for (size_t i = 0; i < fs->n; i++) {
		struct sim_fault *f = &fs->list[i];
		if (f->kind == kind && !f->fired && f->n <= received) {
			f->fired = true;
			any = true;
		}
	}
	return any;
}

uint64_t sim_fault_take_stall(sim_faults_t *fs, uint64_t frame, bool first_non_sync)
{
	for (size_t i = 0; i < fs->n; i++) {
		struct sim_fault *f = &fs->list[i];
		if (f->kind != SIM_FAULT_STALL || f->fired)
			continue;
		if (f->at_given ? f->n == frame : first_non_sync) {
			f->fired = true;
			return f->ms;
		}
	}
	return 0;
}
