/* sink.c: where log lines and progress go (see sink.h). */
#include "sink.h"

void
sink_log(const struct sink *s, const char *fmt, ...)
{
	g_autofree char *line = NULL;
	va_list ap;

	if (!s->log)
		return;
	va_start(ap, fmt);
	line = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	s->log(s->ud, line);
}

void
sink_progress(const struct sink *s, const char *unit, const char *fmt, ...)
{
	g_autofree char *line = NULL;
	va_list ap;

	if (!s->progress && !s->log)
		return;		/* nobody listens: not even formatted */
	if (fmt) {
		va_start(ap, fmt);
		line = g_strdup_vprintf(fmt, ap);
		va_end(ap);
	}
	if (s->progress)
		s->progress(s->ud, unit, line);
	else if (line)
		sink_log(s, "%s: %s", unit, line);
}
