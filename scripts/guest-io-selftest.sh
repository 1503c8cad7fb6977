#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Checks that qemu/run.sh returns a guest script's output and exit status
# whether or not virtme-ng's init connected them (qemu/lib/guest-ports.sh):
# one guest as usual; one with IPVS_AUTH_STOP_UDEV=1, whose udevd must be
# gone when the script runs, its output and status still returned; and
# one with IPVS_AUTH_STOP_UDEV=never (the KASAN kernel's default), whose
# udev cannot run (udevadm replaced by true(1) through a bind mount
# in a private mount namespace, which the guest's view of the host's root
# shares), so that the /dev/virtio-ports/ symlinks init looks for never
# appear, as on a guest whose udev outlasts init's wait. Needs root and a
# built kernel (make kernel); about three minutes under TCG.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=scripts/env.sh
. "$here/env.sh"

out=${IPVS_AUTH_OUT:-$top/out}/guest-io-selftest
mkdir -p "$out"
out=$(cd "$out" && pwd)
cat >"$out/guest.sh" <<'EOF'
echo "selftest: to stdout"
echo "selftest: to stderr" >&2
if [ -e /dev/virtme.ret ]; then
	echo "selftest: init connected the ports"
else
	echo "selftest: init did not connect the ports"
fi
# A zombie udevd (stopped, not reaped yet) is not running.
if ps -o stat= -C systemd-udevd 2>/dev/null | grep -qv Z; then
	echo "selftest: udevd running"
else
	echo "selftest: udevd not running"
fi
# virtme-ng's init logs a command it failed to run as a WARNING, which
# 99-kernel-log counts as a report.
if dmesg | grep -q "virtme-ng-init: WARNING"; then
	echo "selftest: init logged a WARNING"
else
	echo "selftest: init logged no WARNING"
fi
exit 7
EOF

fail=0
for mode in udev stop-udev no-udev; do
	log "guest with $mode"
	rc=0
	case $mode in
	udev) stop=0 ;;
	stop-udev) stop=1 ;;
	*) stop=never ;;
	esac
	IPVS_AUTH_STOP_UDEV=$stop IPVS_AUTH_OUT="$out" "$top/qemu/run.sh" "$out/guest.sh" >"$out/$mode.log" 2>&1 || rc=$?
	cat "$out/$mode.log"
	expect=("selftest: to stdout" "selftest: to stderr" "selftest: init logged no WARNING")
	if [ "$mode" = udev ]; then
		expect+=("selftest: init connected the ports" "selftest: udevd running")
	elif [ "$mode" = stop-udev ]; then
		expect+=("selftest: udevd not running" "udevd stopped in the guest before its script")
	else
		expect+=("selftest: init did not connect the ports" "selftest: udevd not running"
			"virtme-ng's init found no script I/O ports")
	fi
	for line in "${expect[@]}"; do
		if ! grep -qF "$line" "$out/$mode.log"; then
			echo "FAIL  $mode: no line '$line'"
			fail=1
		fi
	done
	if [ "$mode" != stop-udev ] && grep -qF "udevd stopped in the guest" "$out/$mode.log"; then
		echo "FAIL  $mode: udevd stopped without IPVS_AUTH_STOP_UDEV=1"
		fail=1
	fi
	if [ "$mode" = udev ] && grep -qF "virtme-ng's init found no script I/O ports" "$out/$mode.log"; then
		echo "FAIL  udev: the fallback ran although init connected the ports"
		fail=1
	fi
	if [ "$rc" != 7 ]; then
		echo "FAIL  $mode: exit status $rc, not the script's 7"
		fail=1
	fi
done
[ "$fail" = 0 ] && echo "PASS  guest I/O with and without udev, and with udevd stopped"
exit "$fail"
