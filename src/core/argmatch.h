/* argmatch: option matching the way Python argparse accepts options, so command lines written for
 * the reference tools work unchanged: "--name value", "--name=value", "-n value", "-nVALUE" for
 * one-letter short options, and single-dash long options such as "-vid". */
#ifndef ESPFAB_CORE_ARGMATCH_H
#define ESPFAB_CORE_ARGMATCH_H

#include "core/err.h"

/* names: NULL-terminated spellings of one option, e.g. {"-p", "--passcode", NULL}.
 * Returns 1 and sets *value (advancing *i past what was consumed) when argv[*i] is that option,
 * 0 when it is not, -1 (usage error naming the option) when its value is missing. */
int argmatch_take_value(int argc, char **argv, int *i, const char *const names[], const char **value,
			err_t *e);
/* 1 when arg is exactly one of names (a flag without value). */
int argmatch_is_flag(const char *arg, const char *const names[]);

#endif
