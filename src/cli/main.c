#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define CLI_MAX_COMMANDS 64

static const struct cli_command *cli_commands[CLI_MAX_COMMANDS];
static int cli_command_count;

void cli_register_command(const struct cli_command *cmd)
{
	if (cli_command_count < CLI_MAX_COMMANDS)
		cli_commands[cli_command_count++] = cmd;
}

const struct cli_command *cli_find_command(const char *name)
{
	for (int i = 0; i < cli_command_count; i++)
		if (strcmp(cli_commands[i]->name, name) == 0)
			return cli_commands[i];
	return NULL;
}

static int cli_parse_unsigned(const char *s, const char *what, uint64_t max, uint64_t *out, err_t *e)
{
	if (!s || !*s)
		return err_set_msg(e, ERR_USAGE, "%s: a number is needed", what);
	char *end = NULL;
	errno = 0;
	int base = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10;
	if (s[0] == '-')
		return err_set_msg(e, ERR_CHECK, "%s: '%s' is negative", what, s);
	unsigned long long v = strtoull(s, &end, base);
	if (errno || !end || *end || end == s)
		return err_set_msg(e, ERR_CHECK, "%s: '%s' is not a number", what, s);
	if (v > max)
		return err_set_msg(e, ERR_CHECK, "%s: %s is out of range (at most %llu)", what, s,
				   (unsigned long long)max);
	*out = v;
	return 0;
}

int cli_parse_u32(const char *s, const char *what, uint32_t *out, err_t *e)
{
	uint64_t v = 0;
	if (cli_parse_unsigned(s, what, UINT32_MAX, &v, e))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int cli_parse_u64(const char *s, const char *what, uint64_t *out, err_t *e)
{
	return cli_parse_unsigned(s, what, UINT64_MAX, out, e);
}

static int cli_compare_order(const void *a, const void *b)
{
	const struct cli_command *x = *(const struct cli_command *const *)a;
	const struct cli_command *y = *(const struct cli_command *const *)b;
	return x->order - y->order;
}

static void cli_print_usage(FILE *f)
{
	qsort(cli_commands, (size_t)cli_command_count, sizeof cli_commands[0], cli_compare_order);
	fprintf(f, "usage: espfab COMMAND [ARGS...]\n\ncommands:\n");
	for (int i = 0; i < cli_command_count; i++)
		fprintf(f, "  %-10s %s\n", cli_commands[i]->name, cli_commands[i]->synopsis);
	fprintf(f, "\nexit codes: 0 success, 1 check failed or bad input, 2 usage, 3 device or link error\n");
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;
	const struct cli_command *cmd = name ? cli_find_command(name) : cli_find_command("tui");
	if (!name && !cmd) {
		cli_print_usage(stderr);
		return ERR_USAGE;
	}
	if (name && (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h"))) {
		cli_print_usage(stdout);
		return 0;
	}
	if (name && !strcmp(name, "--version")) {
		printf("espfab 0.1.0\n");
		return 0;
	}
	if (!cmd) {
		fprintf(stderr, "espfab: unknown command '%s'\n\n", name);
		cli_print_usage(stderr);
		return ERR_USAGE;
	}
	err_t e = {0};
	int rc = name ? cmd->run(argc - 1, argv + 1, &e) : cmd->run(1, argv, &e);
	if (rc != 0 && e.msg[0])
		fprintf(stderr, "espfab %s: %s\n", cmd->name, e.msg);
	return rc;
}
