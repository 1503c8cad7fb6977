#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots the cached test kernel with virtme-ng under TCG (never KVM: it does
# not work on these machines) with the host's root file system, and runs one
# guest script from this repository inside it. Returns the script's exit
# status; its output goes to stdout.
#
#   qemu/run.sh GUEST_SCRIPT [ARG...]
#
# The guest sees the repository read-only at the same path and $IPVS_AUTH_OUT
# (default: out/ in the repository) read-write, for logs and results.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=scripts/env.sh
. "$top/scripts/env.sh"

[ $# -ge 1 ] || die "usage: qemu/run.sh GUEST_SCRIPT [ARG...]"
script=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
KBUILD=$("$top/scripts/build-kernel.sh" --print)
[ -f "$KBUILD/.ip_vs_sync_auth-built" ] || die "no kernel build at $KBUILD: run 'make kernel'"

out=${IPVS_AUTH_OUT:-$top/out}
mkdir -p "$out"
out=$(cd "$out" && pwd)

args=""
for a in "$@"; do
	args="$args '$a'"
done
# Benchmark knobs (BENCH_*) reach the guest script, and IPVS_AUTH_DEPLOY
# (make check-deploy: run the slow deployment tests) and IPVS_AUTH_DEBS
# (where make deb put the packages).
benchenv=""
for v in $(compgen -e | grep -E '^(BENCH_[A-Z_]*|IPVS_AUTH_DEPLOY|IPVS_AUTH_DEBS)$' || true); do
	benchenv="$benchenv $v='${!v}'"
done
# Every guest keeps its whole kernel log: 99-kernel-log reads it from boot
# on, and the whole suite logs about as much as the default 256 KiB holds.
kargs=(--append log_buf_len=2M)
# IPVS_AUTH_VM_VERBOSE=1: the guest's console (kernel messages, an oops or
# a panic) on stderr, for a guest that dies without a word.
if [ "${IPVS_AUTH_VM_VERBOSE:-0}" = 1 ]; then
	kargs+=(--verbose)
fi
# The KASAN variant boots with 4-level paging and prints every report.
# With 5-level paging (QEMU's TCG CPU has LA57) it reports a
# wild-memory-access in rcu_is_watching() at boot, from an interrupt that
# lands in identify_boot_cpu() while the CPU feature bits are being
# re-read: KASAN then briefly judges 5-level addresses by 4-level bounds.
# That report is the kernel's own, before any module loads, but by default
# KASAN prints only its first report, so it would hide every later one.
# Tests that compare the gate's timers with sleeps multiply both by
# IPVS_AUTH_TIME_SCALE: the KASAN guest (with the debug variant's lockdep
# and kmemleak since 2026-12-02) in a guest of one CPU runs the tests 14 to
# 25 times slower (2026-12-03: 20-sync-auth 2307 s against 90 s,
# 42-ipsec-ipv6 1961 s against 95, 47-ipsec-ipv6-exthdrs 1168 s against
# 86), and at the earlier 10 the gate's timers of 40 and 41 ran out between
# two client tool runs, so its default is 30 there; the debug kernel in a
# guest of one CPU about three times (2026-12-02: 20-sync-auth 253 s
# against 90 s, and 40-ipsec-gate's keepalive rounds outlasted its 8 s
# timeout at 1), so 3 there.
scale=${IPVS_AUTH_TIME_SCALE:-1}
if [ "${IPVS_AUTH_VARIANT:-}" = kasan ]; then
	kargs+=(--append no5lvl --append kasan_multi_shot)
	scale=${IPVS_AUTH_TIME_SCALE:-30}
elif [ "${IPVS_AUTH_VARIANT:-}" = debug ]; then
	scale=${IPVS_AUTH_TIME_SCALE:-3}
fi
case $scale in
'' | *[!0-9]* | 0) die "IPVS_AUTH_TIME_SCALE must be a positive integer, not '$scale'" ;;
esac
# IPVS_AUTH_STOP_UDEV=1: qemu/lib/guest-ports.sh stops the guest's udevd
# before the script runs. In a KASAN guest of one CPU, udevd kept the CPU
# about half busy, in the kernel, for as long as the guest ran, although
# its queue was empty and it no longer answered `udevadm control`
# (2026-12-04: 52 s of CPU in 60 s of an idle guest; rcu_preempt another
# 14 %). With it stopped, a Python start took 6 s there instead of 18.5,
# /bin/true 1.8 s instead of 5, `ip netns add` 3.5 s instead of 9.2.
# IPVS_AUTH_STOP_UDEV=never: udev never starts (the KASAN kernel's
# default): vng runs in a private mount namespace of the host where
# udevadm, which systemd-udevd links to, is true(1), and the guest sees
# the host's root through that namespace. virtme-ng's init then starts
# no udevd, its coldplug and `udevadm settle --timeout=300` return at
# once, and guest-ports.sh finds the script's ports itself. (Not an empty
# file: init logs each command that fails to run as a "WARNING", which
# 99-kernel-log rightly counts as a report.) The KASAN guest then started
# its script about 2 minutes after boot instead of about 10. 0: udev as
# usual (elsewhere).
stop_udev=0
[ "${IPVS_AUTH_VARIANT:-}" != kasan ] || stop_udev=never
stop_udev=${IPVS_AUTH_STOP_UDEV:-$stop_udev}
no_udev=()
case $stop_udev in
0 | 1) ;;
never)
	no_udev=(unshare -m -- sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh
		"$(readlink -f "$(type -P true)")" "$(readlink -f "$(type -P udevadm)")")
	;;
*) die "IPVS_AUTH_STOP_UDEV must be 0, 1 or never, not '$stop_udev'" ;;
esac
# The guest's CPUs (IPVS_AUTH_VM_CPUS, default 2).
cpus=${IPVS_AUTH_VM_CPUS:-2}
case $cpus in
'' | *[!0-9]* | 0) die "IPVS_AUTH_VM_CPUS must be a positive integer, not '$cpus'" ;;
esac
marker="$out/.guest-started"
# qemu/lib/guest-ports.sh connects the script's output and exit status
# itself when virtme-ng's init could not (a guest whose udev was slow).
exit_log="$out/.guest-exit"
cmd="touch '$marker' && cd '$top' && guest_exit_log='$exit_log' && guest_stop_udev='$stop_udev' && . '$here/lib/guest-ports.sh' && {$benchenv IPVS_AUTH_TOP='$top' IPVS_AUTH_OUT='$out' IPVS_AUTH_TIME_SCALE='$scale' IPVS_AUTH_KO='$top/src/ip_vs_sync_auth.ko' KBUILD='$KBUILD' IPVS_AUTH_CACHE='$IPVS_AUTH_CACHE' IPVSADM_AUTH='$IPVSADM_AUTH' KSRC='$KSRC' sh '$script'$args; guest_exit \$?; }"

# Rarely, the guest comes up without running the script and without a word
# (seen twice under load). A boot that never started the script is retried;
# once the script has started, its result stands.
for attempt in 1 2 3; do
	rm -f "$marker" "$exit_log"
	rc=0
	# A guest that hangs must not hang CI: after IPVS_AUTH_VM_TIMEOUT
	# seconds (default 80 min; the whole integration suite, 35 tests, ran
	# past 45 min under TCG on a busy 2-core host) timeout(1) signals its whole process group, QEMU included
	# (vng forks it), and kills what is left 30 s later. Not --foreground:
	# that would signal vng alone and leave QEMU running, holding the
	# caller's pipe open until the guest ends on its own.
	# QEMU writes the guest's stdout and stderr through chardevs opened as
	# files at /proc/self/fd/1 and /proc/self/fd/2 (twice each), with
	# O_TRUNC and each at its own offset from 0: with our output redirected
	# to a file (make demo > log) that emptied the file and overwrote it.
	# Through pipes (cat) they cannot: stdout stays stdout, stderr stderr.
	{ timeout --kill-after=30 "${IPVS_AUTH_VM_TIMEOUT:-4800}" \
		"${no_udev[@]}" vng --run "$KBUILD" --disable-kvm --cpus "$cpus" --memory 2G "${kargs[@]}" \
		--rwdir "$out" --exec "$cmd" </dev/null 2>&1 1>&3 3>&- | cat >&2 3>&-; } 3>&1 | cat ||
		rc=$?
	if [ -f "$marker" ]; then
		# What guest_exit recorded, when vng had no status from the guest.
		if [ "$rc" = 255 ] && [ -f "$exit_log" ]; then
			log "vng returned 255; the guest script's guest_exit: $(cat "$exit_log")"
		fi
		exit "$rc"
	fi
	log "the guest did not start $(basename "$script") (vng exit $rc, attempt $attempt)"
done
die "the guest never started $(basename "$script")"
