#!/bin/bash
# End-to-end tests of executor/sshx.c (libssh2 sessions) against the real
# lab, which must be up (tests/lab/lab-up).  TAP on stdout.
#
#   tests/e2e/sshx_test.sh [TEST_BINARY]
#
# Without TEST_BINARY, builds tests/e2e/test_sshx.c with ASan+UBSan into
# a temporary directory first.  Exit status: that of the test binary (1 if
# any test failed).
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
TOP=$(readlink -f "$HERE/../..")
LAB_DIR=${LAB_DIR:-/tmp/vmshift-lab}
if [ ! -r "$LAB_DIR/env" ]; then
  echo "not ok 1 - lab env file $LAB_DIR/env exists (is the lab up? tests/lab/lab-up)"
  echo "1..1"
  exit 1
fi
set -a
# shellcheck source=/dev/null
. "$LAB_DIR/env"
set +a

TMP=$(mktemp -d /tmp/sshx_test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

bin=${1:-}
if [ -z "$bin" ]; then
  bin=$TMP/test_sshx
  # shellcheck disable=SC2046
  if ! ${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wformat=2 -Wshadow \
      -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers \
      -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
      $(pkg-config --cflags libssh2 libcrypto json-glib-1.0 glib-2.0) -o "$bin" \
      "$TOP/tests/e2e/test_sshx.c" "$TOP/executor/sshx.c" "$TOP/executor/sshx_connect.c" \
      "$TOP/executor/sshx_sftp.c" "$TOP/executor/sshx_exec.c" "$TOP/executor/sshx_copy.c" \
      "$TOP/executor/sshx_hash.c" "$TOP/executor/sshx_tree.c" "$TOP/executor/sshx_direct.c" "$TOP/executor/extents.c" \
      $(pkg-config --libs libssh2 libcrypto json-glib-1.0 glib-2.0) >"$TMP/cc.log" 2>&1; then
    echo "not ok 1 - build test_sshx"
    sed 's/^/# /' "$TMP/cc.log"
    echo "1..1"
    exit 1
  fi
fi

# The tests must not find a stray file from an earlier run.
rm -f /tmp/pwned
# No agent: the tests use the lab key, and an agent must not mask a bug.
unset SSH_AUTH_SOCK
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# A hang is a failure too (each test has its own limits; this is the backstop).
rc=0
timeout -k 10 600 "$bin" --tap || rc=$?
exit "$rc"
