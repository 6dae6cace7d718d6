#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set_msg(err_t *e, int code, const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	e->code = code;
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int err_prepend_context(err_t *e, const char *fmt, ...)
{
	if (!e)
		return -1;
	char ctx[512], old[sizeof e->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	/* Truncation of an over-long message is acceptable; the context comes first. */
	size_t n = strlen(ctx);
	if (n > sizeof e->msg - 3)
		n = sizeof e->msg - 3;
	memcpy(e->msg, ctx, n);
	memcpy(e->msg + n, ": ", 2);
	size_t room = sizeof e->msg - n - 3;
	size_t m = strnlen(old, room);
	memcpy(e->msg + n + 2, old, m);
	e->msg[n + 2 + m] = '\0';
	if (e->code == ERR_OK)
		e->code = ERR_CHECK;
	return -1;
}

void err_clear_msg(err_t *e)
{
	if (!e)
		return;
	e->code = ERR_OK;
	e->msg[0] = '\0';
}
