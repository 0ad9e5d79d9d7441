/* sink.h: where the executor's log lines, progress and events go.
 *
 * The bottom of the executor: every file that logs is handed a sink and
 * knows nothing else of the run.  cmd/ gives the callbacks (exec_opts in
 * executor.h); a sink without them drops what it is told.
 */
#ifndef VMSHIFT_SINK_H
#define VMSHIFT_SINK_H

#include <glib.h>

struct sink {
	void (*log)(gpointer ud, const char *line);
	/* the current progress of one migration, or NULL: it has none now.
	 * NULL callback: progress goes to log (the caller limits how often) */
	void (*progress)(gpointer ud, const char *unit, const char *line);
	/* one event (docs/events.md): a JSON object on one line, without
	 * its newline, to be written whole; NULL: nobody wants events.
	 * Called from worker threads.  events.h builds them. */
	void (*event)(gpointer ud, const char *line);
	gpointer ud;
};

void sink_log(const struct sink *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* NULL @fmt: @unit has no progress to show any more */
void sink_progress(const struct sink *s, const char *unit, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

#endif
