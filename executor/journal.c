#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"

struct journal {
	char *path;
	int fd;
	int lock_fd;
	GMutex mu;
	/* group commit: records are numbered as written; one thread at a
	 * time syncs everything written so far, the others wait for it */
	GCond synced_cond;
	guint64 written, synced;
	gboolean syncing;
	int sync_errno;		/* a sync failed: every later append fails */
};

static int
sys_error(GError **err, const char *what, const char *path)
{
	int e = errno;

	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s '%s': %s", what, path,
		    g_strerror(e));
	return -1;
}

/* fsync the directory too, so a newly created journal file survives. */
static int
sync_dir(const char *dir, GError **err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return sys_error(err, "cannot open state directory", dir);
	if (fsync(fd) < 0)
		rc = sys_error(err, "cannot sync state directory", dir);
	close(fd);
	return rc;
}

/* A crash mid-append leaves a line without its newline; cut it off
 * before appending, or the next record would be glued to it. */
static int
drop_torn_tail(const char *path, GError **err)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	const char *nl;

	if (!g_file_get_contents(path, &text, &len, NULL) || len == 0 || text[len - 1] == '\n')
		return 0;
	nl = g_strrstr_len(text, (gssize)len, "\n");
	if (truncate(path, nl ? (off_t)(nl - text + 1) : 0) < 0)
		return sys_error(err, "cannot repair torn journal", path);
	return 0;
}

struct journal *
journal_open(const char *dir, GError **err)
{
	g_autofree char *lock = g_build_filename(dir, "lock", NULL);
	struct journal *j;

	if (g_mkdir_with_parents(dir, 0700) < 0) {
		sys_error(err, "cannot create state directory", dir);
		return NULL;
	}
	j = g_new0(struct journal, 1);
	g_mutex_init(&j->mu);
	g_cond_init(&j->synced_cond);
	j->fd = -1;
	j->path = g_build_filename(dir, "journal.jsonl", NULL);
	j->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->lock_fd < 0) {
		sys_error(err, "cannot open lock file", lock);
		goto fail;
	}
	if (flock(j->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST,
				    "another vmshift run holds '%s'; wait for it to finish (vmshift status shows its progress)",
				    lock);
		else
			sys_error(err, "cannot lock", lock);
		goto fail;
	}
	if (drop_torn_tail(j->path, err) < 0)
		goto fail;
	j->fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		sys_error(err, "cannot open journal", j->path);
		goto fail;
	}
	if (sync_dir(dir, err) < 0)
		goto fail;
	return j;
fail:
	journal_close(j);
	return NULL;
}

void
journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0 && j->synced < j->written)
		fdatasync(j->fd);	/* the lazy records; a failure here has nobody to tell */
	if (j->fd >= 0)
		close(j->fd);
	if (j->lock_fd >= 0)
		close(j->lock_fd);	/* releases the lock */
	g_mutex_clear(&j->mu);
	g_cond_clear(&j->synced_cond);
	g_free(j->path);
	g_free(j);
}

const char *
journal_path(const struct journal *j)
{
	return j->path;
}

/* Append @line; on failure cut what was written of it.  Under j->mu. */
static int
write_line(struct journal *j, const char *line, gsize len, GError **err)
{
	off_t start = lseek(j->fd, 0, SEEK_END);
	gsize off = 0;

	if (j->sync_errno) {
		errno = j->sync_errno;
		return sys_error(err, "cannot sync journal (earlier)", j->path);
	}
	while (off < len) {
		ssize_t n = write(j->fd, line + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sys_error(err, "cannot write journal", j->path);
			/* a half-written line would poison every later record */
			if (start >= 0 && ftruncate(j->fd, start) < 0)
				g_prefix_error(err, "(and cannot cut the partial record) ");
			return -1;
		}
		off += (gsize)n;
	}
	return 0;
}

/* Return once record @seq is on disk.  Whoever finds no sync under way
 * syncs everything written so far, with j->mu released, so that the
 * threads appending meanwhile share the next sync (group commit): the
 * same durability as a sync per record, at a fraction of the syncs.
 * Under j->mu. */
static int
sync_upto(struct journal *j, guint64 seq, GError **err)
{
	while (j->synced < seq && !j->sync_errno) {
		guint64 target;
		int r, e;

		if (j->syncing) {
			g_cond_wait(&j->synced_cond, &j->mu);
			continue;
		}
		j->syncing = TRUE;
		target = j->written;
		g_mutex_unlock(&j->mu);
		r = fdatasync(j->fd);
		e = errno;
		g_mutex_lock(&j->mu);
		j->syncing = FALSE;
		if (r < 0)
			j->sync_errno = e;	/* what it held may be lost: trust no later sync */
		else
			j->synced = target;
		g_cond_broadcast(&j->synced_cond);
	}
	if (j->synced >= seq)
		return 0;
	errno = j->sync_errno;
	return sys_error(err, "cannot sync journal", j->path);
}

int
journal_flush(struct journal *j, GError **err)
{
	int rc;

	g_mutex_lock(&j->mu);
	rc = sync_upto(j, j->written, err);
	g_mutex_unlock(&j->mu);
	return rc;
}

/* The time as "2026-12-02T01:08:01.849383Z" (what GDateTime's
 * "%Y-%m-%dT%H:%M:%S.%fZ" gives, at a tenth of its cost). */
static void
utc_now(char *buf, gsize size)
{
	gint64 us = g_get_real_time();
	time_t secs = (time_t)(us / G_USEC_PER_SEC);
	struct tm tm;

	gmtime_r(&secs, &tm);
	g_snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		   tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % G_USEC_PER_SEC));
}

int
journal_append(struct journal *j, JsonObject *rec, gboolean durable, GError **err)
{
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	char t[40];

	utc_now(t, sizeof(t));
	g_autofree char *line = NULL;
	gsize len;
	int rc;

	json_object_set_string_member(rec, "t", t);
	json_node_set_object(node, rec);
	line = json_to_string(node, FALSE);
	len = strlen(line);
	line = g_realloc(line, len + 2);
	line[len++] = '\n';
	line[len] = '\0';

	g_mutex_lock(&j->mu);
	rc = write_line(j, line, len, err);
	if (rc == 0 && (++j->written, durable))
		rc = sync_upto(j, j->written, err);
	g_mutex_unlock(&j->mu);
	return rc;
}
