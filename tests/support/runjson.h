/* runjson: runs `espfab run --json` against a simulator port and keeps what the sim tests check
 * from its event lines: the done and payload events, the plan's steps, each partition's decoded
 * readback view, the device folder, the exit code and both output streams. */
#ifndef ESPFAB_TEST_RUNJSON_H
#define ESPFAB_TEST_RUNJSON_H

#include <stdbool.h>

#include "testutil.h"

struct run_out {
	int rc;
	json_t *done, *payload, *plan;
	json_t *views; /* partition label -> the engine's decoded readback */
	char *folder;
	buf_t out, err;
};

/* espfab run --profile P --port socket://127.0.0.1:PORT --out DIR/out --json, with --yes unless
 * yes is false; stdin is /dev/null (no terminal). Fails the test on a line that is not JSON. */
void runjson_espfab_run(const char *dir, const char *profile, int port, bool yes,
			struct run_out *r);
void runjson_free(struct run_out *r);
/* A field of the done event's summary (result, serial, folder, ...), NULL when absent. */
const char *runjson_summary(const struct run_out *r, const char *key);

#endif
