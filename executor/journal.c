#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "journal.h"

struct journal {
	char *path;
	int fd;
	int lock_fd;
	GMutex mu;
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
	if (j->fd >= 0)
		close(j->fd);
	if (j->lock_fd >= 0)
		close(j->lock_fd);	/* releases the lock */
	g_mutex_clear(&j->mu);
	g_free(j->path);
	g_free(j);
}

const char *
journal_path(const struct journal *j)
{
	return j->path;
}

int
journal_append(struct journal *j, JsonObject *rec, GError **err)
{
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *t = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
	g_autofree char *line = NULL;
	gsize len, off = 0;
	off_t start;
	int rc = 0;

	json_object_set_string_member(rec, "t", t);
	json_node_set_object(node, rec);
	line = json_to_string(node, FALSE);
	len = strlen(line);
	line = g_realloc(line, len + 2);
	line[len++] = '\n';
	line[len] = '\0';

	g_mutex_lock(&j->mu);
	start = lseek(j->fd, 0, SEEK_END);
	while (off < len) {
		ssize_t n = write(j->fd, line + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sys_error(err, "cannot write journal", j->path);
			/* a half-written line would poison every later record */
			if (start >= 0 && ftruncate(j->fd, start) < 0)
				g_prefix_error(err, "(and cannot cut the partial record) ");
			break;
		}
		off += (gsize)n;
	}
	if (rc == 0 && fdatasync(j->fd) < 0)
		rc = sys_error(err, "cannot sync journal", j->path);
	g_mutex_unlock(&j->mu);
	return rc;
}

GPtrArray *
journal_read(const char *path, GError **err)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) e = NULL;
	g_auto(GStrv) lines = NULL;
	GPtrArray *recs = g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);
	gsize len = 0;
	guint n;

	if (!g_file_get_contents(path, &text, &len, &e)) {
		if (g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return recs;
		g_propagate_error(err, g_steal_pointer(&e));
		g_ptr_array_unref(recs);
		return NULL;
	}
	lines = g_strsplit(text, "\n", -1);
	n = g_strv_length(lines);
	for (guint i = 0; i < n; i++) {
		g_autoptr(JsonParser) parser = NULL;
		/* the text after the last newline is a torn write, if anything */
		gboolean last = i == n - 1;
		JsonNode *root;

		if (!*lines[i])
			continue;
		parser = json_parser_new();
		if (last || !json_parser_load_from_data(parser, lines[i], -1, NULL) ||
		    !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root)) {
			if (last)
				break;
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "%s:%u: not a journal record; the journal is damaged (move it away to start over)",
				    path, i + 1);
			g_ptr_array_unref(recs);
			return NULL;
		}
		g_ptr_array_add(recs, json_object_ref(json_node_get_object(root)));
	}
	return recs;
}
