#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static log_sink_fn log_sink;
static void *log_sink_ctx;
static enum log_level log_threshold = LOG_INFO;

void log_set_sink(log_sink_fn fn, void *ctx)
{
	pthread_mutex_lock(&log_lock);
	log_sink = fn;
	log_sink_ctx = ctx;
	pthread_mutex_unlock(&log_lock);
}

void log_set_threshold(enum log_level min)
{
	log_threshold = min;
}

const char *log_name_level(enum log_level level)
{
	switch (level) {
	case LOG_DEBUG: return "debug";
	case LOG_INFO: return "info";
	case LOG_WARN: return "warning";
	case LOG_ERROR: return "error";
	}
	return "?";
}

void log_write_line(enum log_level level, const char *fmt, ...)
{
	if (level < log_threshold)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	if (log_sink)
		log_sink(log_sink_ctx, level, line);
	else
		fprintf(stderr, "espfab: %s%s%s\n", level >= LOG_WARN ? log_name_level(level) : "",
			level >= LOG_WARN ? ": " : "", line);
	pthread_mutex_unlock(&log_lock);
}
