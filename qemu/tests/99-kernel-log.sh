# SPDX-License-Identifier: GPL-2.0
#
# Runs last: the guest kernel's log since boot, after every test above has
# loaded, exercised and unloaded the module, holds no oops, BUG, WARNING,
# lockdep, RCU (usage or CPU stall) or sleeping-in-atomic report, and no
# failed KUnit case: the module's suites run at every insmod, and a case
# that fails in a test's guest is seen nowhere else (it leaks what it
# held, as an assertion ends the case without running destructors). On
# the debug kernel (make check-debug) kmemleak also scans and must find no
# leak; the log is checked first, as a failed case explains its leaks.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

unload_module
log="$IPVS_AUTH_OUT/guest-dmesg.txt"
if [ -w /sys/kernel/debug/kmemleak ]; then
	# Objects freed by RCU callbacks or workqueues need time to go;
	# kmemleak reports an object only after two scans see it unreferenced.
	sleep 5
	echo scan >/sys/kernel/debug/kmemleak
	sleep 5
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$IPVS_AUTH_OUT/kmemleak.txt"
else
	rm -f "$IPVS_AUTH_OUT/kmemleak.txt"
fi
dmesg >"$log"
# A report in a log that was cleared or has wrapped would go unseen.
grep -q 'Linux version' "$log" ||
	fail "the kernel log no longer starts at boot (cleared or wrapped)"
# RCU CPU stall reports ("rcu: INFO: rcu_preempt detected stalls on
# CPUs/tasks", "self-detected stall"): the test kernel has the stall
# detector (CONFIG_RCU_STALL_COMMON, 21 s). Soft lockups ("BUG: soft
# lockup", CONFIG_SOFTLOCKUP_DETECTOR, 20 s) and workqueue lockups ("BUG:
# workqueue lockup", CONFIG_WQ_WATCHDOG, 30 s) print "BUG:"; tasks blocked
# in D state print "blocked for more than" (CONFIG_DETECT_HUNG_TASK, 120
# s). All are in qemu/kernel.config; a kernel without one of them fails
# below, so that a silent log means something.
pattern='(BUG:|WARNING:|Oops|general protection|possible recursive locking|inconsistent lock state|possible circular locking|suspicious RCU usage|sleeping function called from invalid context|scheduling while atomic|list_(add|del) corruption|KASAN|UBSAN|kernel BUG|detected stalls|self-detected stall|blocked for more than [0-9]+ seconds|not ok [0-9]+ |ASSERTION FAILED|EXPECTATION FAILED)'
if grep -Eq "$pattern" "$log"; then
	grep -E -B2 -A20 "$pattern" "$log" | head -n 80
	fail "the kernel log has reports (see $log)"
fi
if [ -f "$IPVS_AUTH_OUT/kmemleak.txt" ]; then
	if [ -s "$IPVS_AUTH_OUT/kmemleak.txt" ]; then
		head -n 60 "$IPVS_AUTH_OUT/kmemleak.txt"
		fail "kmemleak reports $(grep -c '^unreferenced object' "$IPVS_AUTH_OUT/kmemleak.txt") leaked objects"
	fi
	info "kmemleak: no leak"
else
	info "kmemleak not in this kernel (make check-debug has it)"
fi
detectors=
# A timeout of 0 turns the hung-task detector off.
[ "$(cat /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null || echo 0)" != 0 ] &&
	detectors="$detectors hung-task($(cat /proc/sys/kernel/hung_task_timeout_secs) s)"
[ "$(cat /proc/sys/kernel/soft_watchdog 2>/dev/null)" = 1 ] &&
	[ "$(cat /proc/sys/kernel/watchdog 2>/dev/null)" = 1 ] &&
	[ "$(cat /proc/sys/kernel/watchdog_thresh 2>/dev/null || echo 0)" != 0 ] &&
	detectors="$detectors soft-lockup($(($(cat /proc/sys/kernel/watchdog_thresh) * 2)) s)"
# A threshold of 0 turns the workqueue watchdog off.
[ "$(cat /sys/module/workqueue/parameters/watchdog_thresh 2>/dev/null || echo 0)" != 0 ] &&
	detectors="$detectors workqueue($(cat /sys/module/workqueue/parameters/watchdog_thresh) s)"
info "lockup detectors:${detectors:- none}"
case $detectors in *hung-task*soft-lockup*workqueue*) ;;
*) fail "a lockup detector of qemu/kernel.config is not running (have:${detectors:- none})" ;;
esac
grep -q 'KernelAddressSanitizer initialized' "$log" && info "KASAN was active: no report"
[ -r /proc/lockdep_stats ] && info "lockdep was active: $(grep -m1 'lock-classes' /proc/lockdep_stats)"
info "kernel log clean ($(wc -l <"$log") lines)"
