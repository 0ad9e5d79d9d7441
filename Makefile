# vmshift: build, test, install.  `make check` and `make demo` work alone on
# a fresh Debian 12 as root: they install what they need first (`make deps`).

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
DESTDIR    ?=
BUILD      ?= build
CC         ?= cc
CFLAGS     ?= -O2 -g
SANITIZE   ?=
PKG_CONFIG ?= pkg-config
SCDOC      ?= scdoc

# The planner needs no hypervisor library; the executor brings libvirt,
# libxml2 and libssh2 in.  Deferred (=) so that `make deps` can install
# them before they are first looked up.
PLANNER_PKGS = yaml-0.1 libpcre2-8 glib-2.0
ALL_PKGS     = libvirt libvirt-qemu libxml-2.0 libssh2 libcrypto json-glib-1.0 yajl $(PLANNER_PKGS)
WARN         = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wformat=2 -Wshadow \
               -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
SAN_FLAGS    = $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all)
ALL_CFLAGS   = $(WARN) $(CFLAGS) $(SAN_FLAGS) $(shell $(PKG_CONFIG) --cflags $(ALL_PKGS))
LDLIBS_ALL   = $(shell $(PKG_CONFIG) --libs $(ALL_PKGS))
LDLIBS_PLAN  = $(shell $(PKG_CONFIG) --libs $(PLANNER_PKGS))

PLANNER_SRC  = planner/diag.c planner/ydoc.c planner/ytree.c planner/suggest.c planner/plan.c planner/fields.c \
               planner/parse_map.c planner/parse_hosts.c planner/plan_parse.c planner/parse_run.c planner/patterns.c \
               planner/plan_check.c planner/check_settings.c planner/order.c planner/load.c
# The executor's layers, each calling only its own or lower ones (see
# docs/architecture.md): entry points, engine, step table, steps, units
# and hosts, and the leaves.
EXECUTOR_SRC = executor/executor.c executor/schedule.c executor/resolved.c executor/placement.c executor/placement_facts.c executor/window.c \
               executor/engine.c executor/sched.c executor/report.c executor/report_md.c \
               executor/steps.c executor/step_preflight.c executor/step_domain.c executor/step_verify.c executor/bridges.c executor/step_files.c executor/step_copy.c executor/step_direct.c executor/step_owner.c \
               executor/step_live.c executor/live_job.c executor/live_ladder.c executor/claims.c executor/storage.c executor/chain.c executor/step_xml.c executor/step_common.c \
               executor/unit.c executor/fault.c executor/hosts.c \
               executor/sink.c executor/events.c executor/virt.c executor/journal.c executor/journal_read.c executor/udiff.c \
               executor/domxml.c executor/domxml_splice.c executor/domxml_refs.c executor/domxml_paths.c \
               executor/domxml_remap.c executor/domxml_tpm.c \
               executor/sshx.c executor/sshx_connect.c executor/sshx_sftp.c executor/sshx_exec.c executor/sshx_copy.c \
               executor/sshx_hash.c executor/sshx_tree.c executor/sshx_direct.c executor/extents.c
# Two programs: vmshift (the planner's commands; no libvirt, no libssh2)
# and vmshift-executor (apply, resume, rollback, status), which vmshift
# runs for those; see cmd/main.c.
CMD_SHARED   = cmd/commands.c cmd/common.c
CMD_SRC      = cmd/main.c cmd/cmd_validate.c cmd/cmd_plan.c cmd/json.c $(CMD_SHARED)
CMD_EXEC_SRC = cmd/main_executor.c cmd/cmd_apply.c $(CMD_SHARED)
UNIT_TESTS   = test_ydoc test_plan test_order test_fields
EXEC_TESTS   = test_journal test_udiff test_domxml test_sched test_extents test_live_ladder test_events

PLANNER_OBJ  = $(PLANNER_SRC:%.c=$(BUILD)/%.o)
EXECUTOR_OBJ = $(EXECUTOR_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ      = $(CMD_SRC:%.c=$(BUILD)/%.o)
CMD_EXEC_OBJ = $(CMD_EXEC_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN     = $(UNIT_TESTS:%=$(BUILD)/tests/%) $(EXEC_TESTS:%=$(BUILD)/tests/%)

# Debian packages: to build (scdoc: the man pages), to test (schema
# validator, man page linters), to run the lab.
DEB_BUILD = build-essential pkg-config libvirt-dev libyaml-dev libxml2-dev \
            libssh2-1-dev libpcre2-dev libglib2.0-dev libjson-glib-dev libyajl-dev libssl-dev scdoc
DEB_TEST  = python3 python3-jsonschema python3-yaml python3-markdown mandoc man-db groff-base
DEB_LAB   = libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients \
            qemu-system-x86 qemu-utils openssh-server openssh-client iproute2 procps
DEB_ALL   = $(DEB_BUILD) $(DEB_TEST) $(DEB_LAB)
# `make bench` only: instruction counts and peak RSS.
DEB_BENCH = valgrind time

.PHONY: all deps check check-fast asan install uninstall clean demo bench bench-scale bench-disks bench-live lint man
.DEFAULT_GOAL := all

all: $(BUILD)/vmshift $(BUILD)/vmshift-executor man

$(BUILD)/vmshift: $(CMD_OBJ) $(PLANNER_OBJ)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS_PLAN)

$(BUILD)/vmshift-executor: $(CMD_EXEC_OBJ) $(EXECUTOR_OBJ) $(PLANNER_OBJ)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS_ALL)

# where vmshift looks for vmshift-executor when it is not beside it; the
# stamp holds the value, so that another PREFIX rebuilds main.o
$(BUILD)/cmd/main.o: CPPFLAGS += -DVMSHIFT_LIBEXECDIR='"$(LIBEXECDIR)/vmshift"'
$(BUILD)/cmd/main.o: $(BUILD)/libexecdir.stamp
$(BUILD)/libexecdir.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(LIBEXECDIR)' | cmp -s - $@ || echo '$(LIBEXECDIR)' > $@
.PHONY: FORCE

$(BUILD)/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c $(PLANNER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_PLAN)

# executor unit tests: no libvirt, no host needed
$(BUILD)/tests/test_journal: tests/unit/test_journal.c $(BUILD)/executor/journal.o $(BUILD)/executor/journal_read.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)
$(BUILD)/tests/test_sched: tests/unit/test_sched.c $(BUILD)/executor/sched.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_PLAN)
$(BUILD)/tests/test_live_ladder: tests/unit/test_live_ladder.c $(BUILD)/executor/live_ladder.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)
$(BUILD)/tests/test_extents: tests/unit/test_extents.c $(BUILD)/executor/extents.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)
$(BUILD)/tests/test_events: tests/unit/test_events.c $(BUILD)/executor/events.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)
$(BUILD)/tests/test_udiff: tests/unit/test_udiff.c $(BUILD)/executor/udiff.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)
$(BUILD)/tests/test_domxml: tests/unit/test_domxml.c $(BUILD)/executor/domxml.o $(BUILD)/executor/domxml_splice.o \
                           $(BUILD)/executor/domxml_refs.o $(BUILD)/executor/domxml_paths.o \
                           $(BUILD)/executor/domxml_remap.o $(PLANNER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)

# Installs only what is missing; needs root for that (CI runs as root).
deps:
	@missing=$$(for p in $(DEB_ALL); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root, or: apt-get install" $$missing >&2; exit 1; fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q $$missing; \
	fi

# Everything: unit, plan and CLI tests, the same under ASan+UBSan, then the
# end-to-end tests against the real lab (brought up and always torn down).
check: deps
	$(MAKE) all $(UNIT_BIN)
	$(MAKE) BUILD=$(BUILD)/asan SANITIZE=address,undefined CFLAGS="-O1 -g" all \
		$(UNIT_TESTS:%=$(BUILD)/asan/tests/%) $(EXEC_TESTS:%=$(BUILD)/asan/tests/%)
	tests/run-tests $(BUILD) $(BUILD)/asan

# The fast part alone (no lab, no sanitizers).
check-fast: all $(UNIT_BIN)
	tests/run-tests --no-lab $(BUILD)

asan: deps
	$(MAKE) BUILD=$(BUILD)/asan SANITIZE=address,undefined CFLAGS="-O1 -g" all \
		$(UNIT_TESTS:%=$(BUILD)/asan/tests/%) $(EXEC_TESTS:%=$(BUILD)/asan/tests/%)
	tests/run-tests --no-lab $(BUILD)/asan

demo: deps all
	tests/demo $(BUILD)/vmshift

# Timing, then the instruction and memory budget (bench/run-bench), then a
# live migration against bare virsh on the lab (bench-live: root, the lab).
bench: all
	$(MAKE) deps DEB_ALL="$(DEB_BENCH)"
	$(MAKE) $(BUILD)/bench/bench-plan $(BUILD)/bench/yaml-peer
	$(BUILD)/bench/bench-plan
	bench/run-bench $(BUILD)
	$(MAKE) bench-live

# The executor at fleet scale on libvirt's test driver (5,000 and 10,000
# VMs over 100 hosts): wall, CPU per VM, RSS, journal, status and resume.
# A benchmark, never part of `make check`.  VMSHIFT=PATH measures another
# binary; BENCH_SCALE_ARGS passes options (bench/bench-scale --help).
bench-scale: all
	bench/bench-scale --vmshift $(or $(VMSHIFT),$(BUILD)/vmshift) $(BENCH_SCALE_ARGS)

# copy-disks against scp on the lab (bench/bench-disks); never a test.
bench-disks: all
	$(MAKE) deps DEB_ALL="$(DEB_LAB) bc"
	tests/lab/lab-up
	bench/bench-disks --vmshift $(or $(VMSHIFT),$(BUILD)/vmshift) $(BENCH_DISKS_ARGS); rc=$$?; tests/lab/lab-down; exit $$rc

# vmshift's live migration against bare virsh migrate --live on the lab,
# alternately, 5 runs each (bench/bench-live); never a test.
bench-live: all
	$(MAKE) deps DEB_ALL="$(DEB_LAB) bc"
	tests/lab/lab-up
	bench/bench-live --vmshift $(or $(VMSHIFT),$(BUILD)/vmshift) $(BENCH_LIVE_ARGS); rc=$$?; tests/lab/lab-down; exit $$rc

$(BUILD)/bench/bench-plan: bench/bench-plan.c $(PLANNER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_PLAN)

$(BUILD)/bench/yaml-peer: bench/yaml-peer.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs yaml-0.1)

# Man pages: scdoc sources in docs/man/, with the install's directories
# put in (the stamp holds them, so that another PREFIX rebuilds them);
# SOURCE_DATE_EPOCH (Debian's builds set it) dates them reproducibly.
MAN_PAGES = $(BUILD)/man/vmshift.1 $(BUILD)/man/vmshift-plan.5
man: $(MAN_PAGES) $(MAN_PAGES:%=%.gz)
$(BUILD)/man/%: docs/man/%.scd $(BUILD)/mandirs.stamp
	@mkdir -p $(dir $@)
	@command -v $(SCDOC) >/dev/null || { echo "make: the man pages need scdoc: apt-get install scdoc (or make deps)" >&2; exit 1; }
	sed -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' $< | $(SCDOC) > $@.tmp && mv $@.tmp $@
$(BUILD)/man/%.gz: $(BUILD)/man/%
	gzip -9n < $< > $@.tmp && mv $@.tmp $@
$(BUILD)/mandirs.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(DATADIR) $(LIBEXECDIR)' | cmp -s - $@ || echo '$(DATADIR) $(LIBEXECDIR)' > $@

# The programs, the man pages (gzip'd, as Debian does), the bash
# completion (cmd/vmshift-completion.bash, loaded on demand by
# bash-completion) and the JSON Schemas.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/vmshift $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DATADIR)/vmshift
	install -m 0755 $(BUILD)/vmshift $(DESTDIR)$(BINDIR)/vmshift
	install -m 0755 $(BUILD)/vmshift-executor $(DESTDIR)$(LIBEXECDIR)/vmshift/vmshift-executor
	install -m 0644 $(BUILD)/man/vmshift.1.gz $(DESTDIR)$(MANDIR)/man1/vmshift.1.gz
	install -m 0644 $(BUILD)/man/vmshift-plan.5.gz $(DESTDIR)$(MANDIR)/man5/vmshift-plan.5.gz
	install -m 0644 cmd/vmshift-completion.bash $(DESTDIR)$(BASHCOMPDIR)/vmshift
	install -m 0644 $(wildcard schema/*.json) $(DESTDIR)$(DATADIR)/vmshift/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vmshift $(DESTDIR)$(LIBEXECDIR)/vmshift/vmshift-executor \
		$(DESTDIR)$(MANDIR)/man1/vmshift.1.gz $(DESTDIR)$(MANDIR)/man5/vmshift-plan.5.gz \
		$(DESTDIR)$(BASHCOMPDIR)/vmshift $(patsubst schema/%,$(DESTDIR)$(DATADIR)/vmshift/%,$(wildcard schema/*.json))
	-rmdir $(DESTDIR)$(LIBEXECDIR)/vmshift $(DESTDIR)$(DATADIR)/vmshift

clean:
	rm -rf $(BUILD)
