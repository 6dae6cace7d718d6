#include "cli/cli_port.h"

int cli_port_take_options(struct loader_opts *o, int *argc, char **argv, err_t *e)
{
	loader_opts_init(o);
	int kept = 1;
	for (int i = 1; i < *argc;) {
		int r = loader_opts_parse_arg(o, *argc, argv, &i, e);
		if (r < 0)
			return ERR_USAGE;
		if (!r)
			argv[kept++] = argv[i++];
	}
	*argc = kept;
	argv[kept] = NULL;
	return 0;
}

int cli_port_check_port(const struct loader_opts *o, err_t *e)
{
	if (!o->port)
		return err_set_msg(e, ERR_USAGE, "--port is required"), ERR_USAGE;
	return 0;
}

int cli_port_open_loader(loader_t *l, const struct loader_opts *o, err_t *e)
{
	int rc = cli_port_check_port(o, e);
	if (rc)
		return rc;
	if (loader_open(l, o, e))
		return e->code ? e->code : ERR_DEVICE;
	return 0;
}
