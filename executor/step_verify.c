/* step_verify.c: verify-target, the gate before undefine-source.  The
 * domain must be as the plan wants it (persistent, its files there), and
 * pass the checks of verify:
 *   running_for_s  it stays running that long: libvirt's lifecycle events
 *                  end the wait at once if it stops or crashes;
 *   guest_agent    qemu-guest-agent answers guest-ping;
 *   tcp            HOST:PORT accepts a connection from the controller.
 * A failed check fails the step, naming every check that failed; the
 * engine then rolls the migration back.  What passed is journaled
 * (FACT_VERIFIED). */
#include <string.h>

#include <gio/gio.h>
#include <libvirt/libvirt-qemu.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "step_verify.h"
#include "steps.h"

#define AGENT_CHANNEL "org.qemu.guest_agent.0"
#define AGENT_PING "{\"execute\":\"guest-ping\"}"
#define SLICE_US (200 * 1000)

/* The checks of @u's verify: block as this unit runs them. */
struct checks {
	gint64 running_for_s;	/* 0: only the state at the end */
	gboolean agent;
	char *tcp;		/* {vm} replaced, or NULL */
	gint64 timeout_s;
};

static void
checks_of(struct unit *u, gboolean want_running, struct checks *c)
{
	const struct verify_opts *v = &u->m->set.verify;

	c->running_for_s = v->running_for_s >= 0 ? v->running_for_s : u->mode == MODE_LIVE ? 0 : 1;
	c->agent = want_running && v->guest_agent;
	c->tcp = NULL;
	if (want_running && v->tcp) {
		GString *s = g_string_new(v->tcp);

		g_string_replace(s, "{vm}", u->vm, 0);
		c->tcp = g_string_free(s, FALSE);
	}
	c->timeout_s = v->timeout_s > 0 ? v->timeout_s : 30;
}

/* "running 1 s, guest agent (guest-ping, 30 s), tcp H:P (30 s)" */
static char *
checks_text(const struct checks *c)
{
	GString *s = g_string_new(NULL);

	g_string_append_printf(s, "running %" G_GINT64_FORMAT " s", c->running_for_s);
	if (c->agent)
		g_string_append_printf(s, ", guest agent (guest-ping within %" G_GINT64_FORMAT " s)", c->timeout_s);
	if (c->tcp)
		g_string_append_printf(s, ", tcp %s (a connection within %" G_GINT64_FORMAT " s)", c->tcp, c->timeout_s);
	return g_string_free(s, FALSE);
}

/* Does the domain XML @xml have the guest agent's virtio channel?  Read
 * with libxml2 alone: domxml keeps what remaps change, not devices. */
static gboolean
has_agent_channel(const char *xml)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
	xmlXPathObjectPtr o = ctx ? xmlXPathEvalExpression(
		BAD_CAST "/domain/devices/channel/target[@type='virtio' and @name='" AGENT_CHANNEL "']", ctx) : NULL;
	gboolean found = o && o->nodesetval && o->nodesetval->nodeNr > 0;

	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return found;
}

/* A problem unless @addr is HOST:PORT (or [V6]:PORT) with a port. */
static char *
tcp_malformed(const char *addr)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GSocketConnectable) a = g_network_address_parse(addr, 0, &e);

	if (!a)
		return g_strdup_printf("verify.tcp '%s': %s; write HOST:PORT or [IPV6]:PORT", addr, e->message);
	if (g_network_address_get_port(G_NETWORK_ADDRESS(a)) == 0)
		return g_strdup_printf("verify.tcp '%s' names no port; write HOST:PORT or [IPV6]:PORT", addr);
	return NULL;
}

void
verify_preflight(struct unit *u, gboolean running, GPtrArray *problems)
{
	gboolean want = u->mode == MODE_LIVE || step_will_start(u, running);	/* as verify-target decides */
	struct checks c;
	g_autofree char *what = NULL;
	char *bad;

	checks_of(u, want, &c);
	if (!want) {
		step_note(u, "verify-target: checks that it is defined as planned and not running%s",
			  u->m->set.verify.guest_agent || u->m->set.verify.tcp ?
			  " (verify.guest_agent and verify.tcp need it running: not checked)" : "");
		return;
	}
	what = checks_text(&c);
	step_note(u, "verify-target: checks %s; undefine-source runs only if they pass", what);
	if (c.agent && u->xml_text && !has_agent_channel(u->xml_text))
		g_ptr_array_add(problems, g_strdup_printf(
			"verify.guest_agent: the definition of '%s' on %s has no " AGENT_CHANNEL " channel; add one or drop verify.guest_agent",
			u->vm, u->src->h->name));
	if (c.tcp && (bad = tcp_malformed(c.tcp)))
		g_ptr_array_add(problems, bad);
	g_free(c.tcp);
}

/* ---- running_for_s: libvirt's lifecycle events ---- */

/* Shared with libvirt's event thread, which holds a reference until it
 * calls watch_unref() (the callback's free function). */
struct watch {
	GMutex mu;
	GCond cond;
	char *ended;		/* the event that ended its run, or NULL */
	gboolean stopped;	/* that was its stop, not only a shutdown's start */
};

static void
watch_clear(gpointer p)
{
	struct watch *w = p;

	g_free(w->ended);
	g_mutex_clear(&w->mu);
	g_cond_clear(&w->cond);
}

static void
watch_unref(void *p)
{
	g_atomic_rc_box_release_full(p, watch_clear);
}

static int
on_lifecycle(virConnectPtr c G_GNUC_UNUSED, virDomainPtr d G_GNUC_UNUSED, int event, int detail, void *opaque)
{
	struct watch *w = opaque;
	const char *what = NULL;

	if (event == VIR_DOMAIN_EVENT_STOPPED)
		what = detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ? "it crashed" :
		       detail == VIR_DOMAIN_EVENT_STOPPED_FAILED ? "it stopped (qemu failed)" :
		       detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED ? "it was powered off" : "it stopped";
	else if (event == VIR_DOMAIN_EVENT_SHUTDOWN)
		what = "it shut down";
	else if (event == VIR_DOMAIN_EVENT_CRASHED)
		what = "it crashed (guest panic)";
	if (!what)
		return 0;
	g_mutex_lock(&w->mu);
	/* a shutdown is followed by the stop, which says how it ended */
	if (!w->stopped) {
		g_free(w->ended);
		w->ended = g_strdup(what);
		w->stopped = event != VIR_DOMAIN_EVENT_SHUTDOWN;
	}
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->mu);
	return 0;
}

/* NULL if it runs now, else why not ("it is shut off") */
static char *
not_running(virDomainPtr d)
{
	int state = VIR_DOMAIN_NOSTATE, reason = 0;

	if (virDomainGetState(d, &state, &reason, 0) < 0)
		return g_strdup_printf("its state cannot be read: %s", virGetLastErrorMessage());
	if (state == VIR_DOMAIN_SHUTOFF)
		return g_strdup("it is shut off");
	if (state == VIR_DOMAIN_CRASHED)
		return g_strdup("it crashed");
	if (state == VIR_DOMAIN_SHUTDOWN)
		return g_strdup("it is shutting down");
	return NULL;
}

static gboolean
interrupted(struct exec *x)
{
	return x->o->interrupted && *x->o->interrupted;
}

/* NULL if it ran through @secs seconds and runs at the end, else why not.
 * The wait ends at once on a stop or crash event; without events (a
 * driver that has none) it looks at the state every 200 ms. */
static char *
check_running(struct exec *x, struct unit *u, virDomainPtr d, gint64 secs)
{
	struct watch *w = g_atomic_rc_box_new0(struct watch);
	gint64 end = g_get_monotonic_time() + secs * G_USEC_PER_SEC;
	char *why = NULL;
	int id = -1;

	g_mutex_init(&w->mu);
	g_cond_init(&w->cond);
	if (secs > 0) {
		id = virConnectDomainEventRegisterAny(u->dst->conn, d, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						      VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
						      g_atomic_rc_box_acquire(w), watch_unref);
		if (id < 0) {
			sink_log(&x->sink, "%s: no lifecycle events from %s (%s): looking at the state instead", u->id,
				 u->dst->h->name, virGetLastErrorMessage());
			watch_unref(w);
		}
	}
	/* registered first, then the state: a stop in between is not lost */
	if ((why = not_running(d))) {
		secs = 0;
		end = 0;
	}
	g_mutex_lock(&w->mu);
	while (!w->ended && g_get_monotonic_time() < end && !interrupted(x)) {
		if (id < 0) {
			g_mutex_unlock(&w->mu);
			g_usleep(SLICE_US);
			why = not_running(d);
			g_mutex_lock(&w->mu);
			if (why)
				break;
			continue;
		}
		g_cond_wait_until(&w->cond, &w->mu, MIN(end, g_get_monotonic_time() + SLICE_US));
	}
	/* a shutdown began: how it ends comes a moment later */
	for (gint64 grace = g_get_monotonic_time() + 2 * G_USEC_PER_SEC; w->ended && !w->stopped &&
	     g_get_monotonic_time() < grace;)
		g_cond_wait_until(&w->cond, &w->mu, grace);
	if (!why && w->ended)
		why = g_strdup_printf("%s within %" G_GINT64_FORMAT " s", w->ended, secs);
	g_mutex_unlock(&w->mu);
	if (id >= 0)
		virConnectDomainEventDeregisterAny(u->dst->conn, id);
	watch_unref(w);
	if (!why && interrupted(x))
		why = g_strdup("interrupted while it was watched");
	/* and the state at the end: an event can be lost with a connection */
	if (!why)
		why = not_running(d);
	return why;
}

/* ---- guest_agent ---- */

static char *
check_agent(struct exec *x, struct unit *u, virDomainPtr d, gint64 timeout_s)
{
	g_autofree char *xml = virDomainGetXMLDesc(d, 0);
	g_autofree char *last = NULL;
	gint64 end = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;

	if (!xml)
		return g_strdup_printf("its definition cannot be read: %s", virGetLastErrorMessage());
	if (!has_agent_channel(xml))
		return g_strdup("its definition has no " AGENT_CHANNEL " channel; add one or drop verify.guest_agent");
	for (;;) {
		gint64 left = (end - g_get_monotonic_time() + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
		char *answer = virDomainQemuAgentCommand(d, AGENT_PING, (int)MAX(left, 1), 0);

		if (answer) {
			free(answer);
			return NULL;
		}
		g_free(last);
		last = virt_error();
		/* not connected yet: the agent starts late in a boot */
		for (gint64 until = MIN(end, g_get_monotonic_time() + G_USEC_PER_SEC);
		     g_get_monotonic_time() < until && !interrupted(x);)
			g_usleep(SLICE_US);
		if (g_get_monotonic_time() >= end || interrupted(x))
			break;
	}
	sink_log(&x->sink, "%s: guest agent on %s: %s", u->id, u->dst->h->name, last);
	return g_strdup_printf("did not answer guest-ping within %" G_GINT64_FORMAT " s (%s)", timeout_s,
			       last);
}

/* ---- tcp ---- */

static char *
check_tcp(struct exec *x, const char *addr, gint64 timeout_s)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autofree char *last = NULL;
	char *bad;
	gint64 end = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;

	if ((bad = tcp_malformed(addr)))
		return bad;
	g_socket_client_set_enable_proxy(client, FALSE);
	for (;;) {
		gint64 left = (end - g_get_monotonic_time() + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
		g_autoptr(GError) e = NULL;
		g_autoptr(GSocketConnection) conn = NULL;

		g_socket_client_set_timeout(client, (guint)MAX(left, 1));
		if ((conn = g_socket_client_connect_to_host(client, addr, 0, NULL, &e))) {
			g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
			return NULL;
		}
		g_free(last);
		last = g_strdup(e->message);
		/* a service may come up a moment after the guest boots */
		for (gint64 until = MIN(end, g_get_monotonic_time() + 500 * 1000);
		     g_get_monotonic_time() < until && !interrupted(x);)
			g_usleep(100 * 1000);
		if (g_get_monotonic_time() >= end || interrupted(x))
			break;
	}
	return g_strdup_printf("no connection within %" G_GINT64_FORMAT " s (%s)", timeout_s, last);
}

/* The health checks of verify: on the running target: what passed into
 * @passed, what failed into @failed, each named. */
static void
health_checks(struct exec *x, struct unit *u, virDomainPtr d, const struct checks *c, GPtrArray *passed,
	      GPtrArray *failed)
{
	g_autofree char *run = NULL;
	char *why;

	if (c->running_for_s > 0)
		sink_log(&x->sink, "%s: verifying on %s: running for %" G_GINT64_FORMAT " s", u->id, u->dst->h->name,
			 c->running_for_s);
	run = g_strdup_printf("running %" G_GINT64_FORMAT " s", c->running_for_s);
	if ((why = check_running(x, u, d, c->running_for_s))) {
		g_ptr_array_add(failed, g_strdup_printf("%s: %s", run, why));
		g_free(why);
		/* a guest that is not running answers nothing: not asked */
		return;
	}
	g_ptr_array_add(passed, g_steal_pointer(&run));
	if (c->agent) {
		if ((why = check_agent(x, u, d, c->timeout_s)))
			g_ptr_array_add(failed, g_strdup_printf("guest agent: %s", why));
		else
			g_ptr_array_add(passed, g_strdup("guest agent"));
		g_free(why);
	}
	if (c->tcp) {
		if ((why = check_tcp(x, c->tcp, c->timeout_s)))
			g_ptr_array_add(failed, g_strdup_printf("tcp %s: %s", c->tcp, why));
		else
			g_ptr_array_add(passed, g_strdup_printf("tcp %s", c->tcp));
		g_free(why);
	}
}

/* ---- verify-target ---- */

/* The definition on the target lists every path of the remapped one,
 * and the files vmshift copied are there. */
static int
check_definition(struct exec *x, struct unit *u, virDomainPtr d, GPtrArray *problems, GError **err)
{
	g_autofree char *xml = NULL;
	g_autoptr(DomXml) live = NULL;
	g_auto(Files) f = { 0 };
	struct host_lock lk;
	struct sshx *ds;
	int rc = 0;

	if (!(xml = virDomainGetXMLDesc(d, XML_FLAGS(x))))
		return step_lv_fail(err, "cannot read the definition of '%s' on %s", u->vm, u->dst->h->name);
	if (!(live = domxml_parse(xml, err)))
		return -1;
	{
		g_autoptr(GPtrArray) want = domxml_paths(u->txml);
		g_autoptr(GPtrArray) got = domxml_paths(live);

		for (guint i = 0; i < want->len; i++) {
			struct dom_path *w = want->pdata[i];
			gboolean found = FALSE;

			for (guint k = 0; k < got->len && !found; k++)
				found = !strcmp(((struct dom_path *)got->pdata[k])->path, w->path);
			if (!found)
				g_ptr_array_add(problems, g_strdup_printf("its definition lacks %s '%s'", w->what, w->path));
		}
	}
	if (!host_has_ssh(u->dst))
		return 0;
	step_files_load(u, &f);
	host_lock(&lk, u->dst, NULL);
	if (!(ds = host_ssh(u->dst, err))) {
		host_unlock(&lk);
		return -1;
	}
	for (guint i = 0; i < f.t->len && rc == 0; i++) {
		struct dom_path *t = f.t->pdata[i];
		gboolean exists = FALSE;

		if (!t->copy)
			continue;
		if ((rc = sshx_stat(ds, t->path, &exists, NULL, NULL, err)) == 0 && !exists)
			g_ptr_array_add(problems, g_strdup_printf("%s '%s' is missing", t->what, t->path));
	}
	host_unlock(&lk);
	return rc;
}

int
step_verify_target(struct exec *x, struct unit *u, GError **err)
{
	g_auto(virDomainPtr) d = NULL;
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) passed = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(JsonObject) facts = json_object_new();
	JsonArray *a;
	gboolean missing = FALSE, want_running;
	struct checks c;

	if (step_xml_load(x, u, err) < 0)
		return -1;
	if (!(d = host_dom_by_uuid(u->dst, fact_str(u, FACT_SOURCE_UUID), &missing, err)))
		return missing ? step_fail(err, "'%s' is not defined on %s", u->vm, u->dst->h->name) : -1;
	if (virDomainIsPersistent(d) != 1)
		g_ptr_array_add(problems, g_strdup("it is not persistent"));
	want_running = u->mode == MODE_LIVE || step_will_start(u, fact_bool(u, FACT_SOURCE_RUNNING, FALSE));
	checks_of(u, want_running, &c);
	if (want_running)
		health_checks(x, u, d, &c, passed, problems);
	else if (virt_dom_is_running(d))
		g_ptr_array_add(problems, g_strdup("it is running but should not be"));
	g_free(c.tcp);
	if (check_definition(x, u, d, problems, err) < 0)
		return -1;
	if (problems->len) {
		g_ptr_array_add(problems, NULL);
		g_autofree char *all = g_strjoinv("; ", (char **)problems->pdata);

		return step_fail(err, "'%s' on %s failed verification: %s", u->vm, u->dst->h->name, all);
	}
	a = json_array_new();
	for (guint i = 0; i < passed->len; i++)
		json_array_add_string_element(a, passed->pdata[i]);
	json_object_set_array_member(facts, FACT_VERIFIED, a);
	if (passed->len) {
		g_ptr_array_add(passed, NULL);
		g_autofree char *all = g_strjoinv(", ", (char **)passed->pdata);

		sink_log(&x->sink, "%s: verified on %s: %s", u->id, u->dst->h->name, all);
	}
	return unit_record_facts(x, u, STEP_VERIFY_TARGET, facts, err);
}
