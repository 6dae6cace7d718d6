/* sim_fault: faults the simulator injects on request (--fault SPEC, repeatable), so link and
 * flow code can be tested against the failures a bench sees: a lost or damaged reply, a cable
 * pulled mid-write, a chip that resets, a chip that goes quiet for a while. Each fault fires once. */
#ifndef ESPFAB_SIM_FAULT_H
#define ESPFAB_SIM_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum sim_fault_kind {
	SIM_FAULT_DROP,             /* drop:N — the Nth response frame is not sent */
	SIM_FAULT_CORRUPT,          /* corrupt:N — one byte of the Nth response frame is flipped */
	SIM_FAULT_DISCONNECT_AFTER, /* disconnect-after:BYTES — connection closed after BYTES received */
	SIM_FAULT_RESET_AFTER,      /* reset-after:BYTES — chip resets after BYTES received */
	SIM_FAULT_STALL,            /* stall:MS[@N] — nothing answered for MS ms, before frame N */
};

struct sim_fault {
	enum sim_fault_kind kind;
	uint64_t n;        /* frame number (1-based) or byte count */
	uint64_t ms;       /* stall duration */
	bool at_given;     /* stall: @N given; otherwise before the first non-SYNC reply */
	bool fired;
};

#define SIM_FAULT_MAX 32

typedef struct sim_faults {
	struct sim_fault list[SIM_FAULT_MAX];
	size_t n;
} sim_faults_t;

/* Parses one SPEC ("drop:3", "corrupt:10", "disconnect-after:4096", "reset-after:100",
 * "stall:500", "stall:500@12") into f. Numbers are decimal or 0x hex, N ≥ 1, MS ≤ 600000. */
int sim_fault_parse(const char *spec, struct sim_fault *f, err_t *e);
int sim_fault_add(sim_faults_t *fs, const char *spec, err_t *e);

/* Frame-numbered faults: returns the fault that applies to response frame `frame` of this kind
 * and marks it fired, or NULL. */
struct sim_fault *sim_fault_take_frame(sim_faults_t *fs, enum sim_fault_kind kind, uint64_t frame);
/* Byte-count faults: how many of `avail` received bytes may be processed before the first
 * pending fault of this kind triggers (avail if none), given `received` bytes so far. */
size_t sim_fault_bytes_before(const sim_faults_t *fs, enum sim_fault_kind kind, uint64_t received,
			      size_t avail);
/* Marks every pending fault of this kind whose threshold is ≤ received as fired; true if any. */
bool sim_fault_take_bytes(sim_faults_t *fs, enum sim_fault_kind kind, uint64_t received);
/* Stall before response frame `frame`: its duration in ms, or 0. first_non_sync tells whether
 * this frame answers the first command other than SYNC. */
uint64_t sim_fault_take_stall(sim_faults_t *fs, uint64_t frame, bool first_non_sync);

#endif
