#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check-deploy`: what a deployment needs, beyond `make check`:
#   1. output that survives redirection (scripts/test-output.sh: a guest's
#      output appended to a file, and `make demo > log`);
#   2. the Debian packages (scripts/build-deb.sh: build + lintian);
#   3. the deployment tests in QEMU, 50-55 (55 installs those packages),
#      through scripts/check.sh (set-up, host checks, module build, KUnit,
#      the tests, 99-kernel-log).
# check.sh's "N passed, N failed, N skipped" line covers step 3; a last
# line gives the time and how many of steps 1 and 2 failed; the exit status
# is non-zero if anything failed. Not run by CI: make check runs 50, 51, 53 and 54 and skips
# 52 and 55 (DKMS builds of about 7 min each in the TCG guest).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
pre_failed=0
start=$(date +%s)

printf '\n== output redirection (%s)\n' "$(date +%T)"
"$here/test-output.sh" || pre_failed=$((pre_failed + 1))

printf '\n== Debian packages: make deb (%s)\n' "$(date +%T)"
t0=$(date +%s)
if "$here/build-deb.sh"; then
	echo "PASS  make deb: both packages built, lintian without errors ($(($(date +%s) - t0)) s)"
else
	echo "FAIL  make deb"
	pre_failed=$((pre_failed + 1))
fi

IPVS_AUTH_DEPLOY=1 IPVS_AUTH_TESTS="50 51 52 53 54 55" "$here/check.sh" | tee "${IPVS_AUTH_OUT:-$top/out}/check-deploy.log"
rc=${PIPESTATUS[0]}
echo "make check-deploy: $(($(date +%s) - start)) s; $pre_failed failed before the QEMU tests"
[ "$rc" = 0 ] && [ "$pre_failed" = 0 ]
