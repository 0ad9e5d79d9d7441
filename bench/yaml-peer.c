/* yaml-peer: the bare libyaml parse that `make bench` holds vmshift up
 * against.  It reads the file whole, as plan_load() does, and pulls every
 * event with yaml_parser_parse(): the libyaml API planner/ydoc.c builds
 * its tree from, so the ratio measures what vmshift adds to libyaml and
 * not a different libyaml API.  Nothing else: no GLib, no checks.
 *
 * usage: yaml-peer FILE   (exit 0 if the file parses)
 */
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

int
main(int argc, char **argv)
{
	yaml_parser_t p;
	yaml_event_t ev;
	unsigned char *buf;
	long len;
	FILE *fp;
	int done = 0, rc = 1;

	if (argc != 2 || !(fp = fopen(argv[1], "rb"))) {
		fprintf(stderr, "usage: yaml-peer FILE\n");
		return 2;
	}
	if (fseek(fp, 0, SEEK_END) || (len = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) ||
	    !(buf = malloc((size_t)len + 1)) || fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		fprintf(stderr, "yaml-peer: cannot read %s\n", argv[1]);
		return 2;
	}
	fclose(fp);
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, buf, (size_t)len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			fprintf(stderr, "yaml-peer: %s\n", p.problem ? p.problem : "parse error");
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	rc = 0;
out:
	yaml_parser_delete(&p);
	free(buf);
	return rc;
}
