/* argscan: command-line scanning the way the Python reference tools (argparse) accept options:
 * anywhere among positionals, `--opt value`, `--opt=value`, `-o=value`, `-oVALUE` for one-letter
 * options, single-dash long names (`-vid`), and underscores or dashes interchangeably. */
#ifndef ESPFAB_CORE_ARGSCAN_H
#define ESPFAB_CORE_ARGSCAN_H

#include "core/err.h"

enum argscan_kind {
	ARGSCAN_FLAG,
	ARGSCAN_VALUE,
	ARGSCAN_LIST,     /* one or more values up to the next option */
	ARGSCAN_OPTIONAL, /* a value only when given as `--opt=value`, else *val is NULL; the
			   * caller may take following words itself (nargs='?'/'*') via argscan_peek_word */
};

struct argscan_opt {
	const char *names; /* alternatives separated by '|', without dashes: "k|keyfile" */
	enum argscan_kind kind;
	int id;            /* returned by argscan_next; must be > 0 */
};

#define ARGSCAN_END 0
#define ARGSCAN_POSITIONAL (-2)
#define ARGSCAN_UNKNOWN (-3) /* only with keep_unknown set: *val is the word */

struct argscan {
	int argc;
	char **argv;
	int i;
	const struct argscan_opt *opts; /* terminated by an entry with names == NULL */
	int list_id;                    /* id of the LIST option being collected, or 0 */
	int only_positional;            /* after "--" */
	int keep_unknown;               /* return ARGSCAN_UNKNOWN instead of failing */
};

void argscan_init(struct argscan *s, int argc, char **argv, const struct argscan_opt *opts);
/* Returns an option id with *val set (NULL for flags), ARGSCAN_POSITIONAL with *val the word,
 * ARGSCAN_END, or -1 with e set (unknown option, missing value). LIST options return their id
 * once per value. argv[0] is skipped. */
int argscan_next(struct argscan *s, const char **val, err_t *e);
/* The next unread word, or NULL at the end; argscan_skip_word consumes it. */
const char *argscan_peek_word(const struct argscan *s);
void argscan_skip_word(struct argscan *s);

#endif
