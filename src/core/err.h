/* err: how a failed operation reports back. Every layer fills an err_t with an exit-code class
 * (DESIGN.md §4) and a message that names the input, line, field or step at fault; only the front
 * ends print it. Secrets must never be put in a message. */
#ifndef ESPFAB_CORE_ERR_H
#define ESPFAB_CORE_ERR_H

#include <stddef.h>

enum err_code {
	ERR_OK = 0,
	ERR_CHECK = 1,  /* bad data, a failed check, a verify mismatch */
	ERR_USAGE = 2,  /* bad command line */
	ERR_DEVICE = 3, /* device or link error */
};

typedef struct err {
	int code;
	char msg[1024];
} err_t;

/* Sets code and message; returns -1 so callers can write `return err_set_msg(e, ...)`. */
int err_set_msg(err_t *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Puts "context: " in front of the message already set (file name, line, step). Returns -1. */
int err_prepend_context(err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear_msg(err_t *e);

#endif
