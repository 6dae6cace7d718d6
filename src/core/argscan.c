#include "core/argscan.h"

#include <stddef.h>
#include <string.h>

void argscan_init(struct argscan *s, int argc, char **argv, const struct argscan_opt *opts)
{
	s->argc = argc;
	s->argv = argv;
	s->i = 1;
	s->opts = opts;
	s->list_id = 0;
	s->only_positional = 0;
	s->keep_unknown = 0;
}

const char *argscan_peek_word(const struct argscan *s)
{
	return s->i < s->argc ? s->argv[s->i] : NULL;
}

void argscan_skip_word(struct argscan *s)
{
	if (s->i < s->argc)
		s->i++;
}

static int argscan_name_matches(const char *names, const char *name, size_t n)
{
	const char *p = names;
	while (*p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n) {
			size_t k = 0;
			for (; k < n; k++) {
				char a = p[k] == '_' ? '-' : p[k];
				char b = name[k] == '_' ? '-' : name[k];
				if (a != b)
					break;
			}
			if (k == n)
				return 1;
		}
		if (!bar)
			break;
		p = bar + 1;
	}
	return 0;
}

static int argscan_is_option(const char *w)
{
	/* "-" alone is a positional (stdin in the Python tools); negative numbers are not options. */
	return w[0] == '-' && w[1] && !(w[1] >= '0' && w[1] <= '9');
}

int argscan_next(struct argscan *s, const char **val, err_t *e)
{
	*val = NULL;
	if (s->i >= s->argc)
		return ARGSCAN_END;
	char *w = s->argv[s->i];
	if (s->list_id && !argscan_is_option(w)) {
		s->i++;
		*val = w;
		return s->list_id;
	}
	s->list_id = 0;
	s->i++;
	if (s->only_positional || !argscan_is_option(w)) {
		*val = w;
		return ARGSCAN_POSITIONAL;
	}
	if (!strcmp(w, "--")) {
		s->only_positional = 1;
		return argscan_next(s, val, e);
	}
	const char *name = w + (w[1] == '-' ? 2 : 1);
	const char *eq = strchr(name, '=');
	size_t n = eq ? (size_t)(eq - name) : strlen(name);
	for (const struct argscan_opt *o = s->opts; o->names; o++) {
		if (!argscan_name_matches(o->names, name, n))
			continue;
		if (o->kind == ARGSCAN_FLAG) {
			if (eq)
				return err_set_msg(e, ERR_USAGE, "option %.*s takes no value", (int)(n + (name - w)), w);
			return o->id;
		}
		if (o->kind == ARGSCAN_OPTIONAL) {
			*val = eq ? eq + 1 : NULL;
			return o->id;
		}
		if (eq) {
			*val = eq + 1;
		} else {
			if (s->i >= s->argc)
				return err_set_msg(e, ERR_USAGE, "option %s needs a value", w);
			*val = s->argv[s->i++];
		}
		if (o->kind == ARGSCAN_LIST)
			s->list_id = o->id;
		return o->id;
	}
	/* argparse glues values only to one-letter short options ("-p20202021"), and only when
	 * no option is spelled as the whole word ("-pid"). */
	if (w[1] != '-' && w[2]) {
		for (const struct argscan_opt *o = s->opts; o->names; o++) {
			if ((o->kind != ARGSCAN_VALUE && o->kind != ARGSCAN_LIST) ||
			    !argscan_name_matches(o->names, w + 1, 1))
				continue;
			*val = w + 2;
			if (o->kind == ARGSCAN_LIST)
				s->list_id = o->id;
			return o->id;
		}
	}
	if (s->keep_unknown) {
		*val = w;
		return ARGSCAN_UNKNOWN;
	}
	return err_set_msg(e, ERR_USAGE, "unknown option %.*s", (int)(n + (size_t)(name - w)), w);
}
