/* log: one line of operator-facing text with a level. Lines go to a sink (stderr by default;
 * the engine routes them into the event queue). Callers never pass secrets. */
#ifndef ESPFAB_CORE_LOG_H
#define ESPFAB_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

typedef void (*log_sink_fn)(void *ctx, enum log_level level, const char *line);

void log_set_sink(log_sink_fn fn, void *ctx);
void log_set_threshold(enum log_level min);
void log_write_line(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *log_name_level(enum log_level level);

#endif
