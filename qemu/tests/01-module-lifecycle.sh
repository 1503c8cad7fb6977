# SPDX-License-Identifier: GPL-2.0
#
# The module loads after ip_vs, says so in one line, pins ip_vs while loaded
# and unloads cleanly.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

load_ip_vs
unload_module
log_mark

deps=$(modinfo -F depends "$IPVS_AUTH_KO")
echo "$deps" | tr ',' '\n' | grep -qx ip_vs || fail "modinfo depends is '$deps', expected ip_vs"

# Earlier tests may have left ip_vs in use (schedulers, services of
# namespaces still being torn down).
unload_ip_vs || fail "cannot unload ip_vs: $(grep '^ip_vs ' /proc/modules)"
insmod "$IPVS_AUTH_KO" 2>/dev/null && fail "insmod succeeded without ip_vs loaded"
info "insmod without ip_vs refused, as expected"

load_module
grep -q '^ip_vs_sync_auth ' /proc/modules || fail "module not in /proc/modules"
lines=$(log_since_mark -t | grep -c '^ip_vs_sync_auth: loaded')
[ "$lines" = 1 ] || fail "expected one load line, found $lines"
log_since_mark -t | grep '^ip_vs_sync_auth: loaded'
grep '^ip_vs ' /proc/modules | grep -q 'ip_vs_sync_auth' || fail "ip_vs is not used by ip_vs_sync_auth"
rmmod ip_vs 2>/dev/null && fail "ip_vs could be removed while ip_vs_sync_auth is loaded"
info "ip_vs pinned while loaded"

rmmod ip_vs_sync_auth || fail "rmmod failed"
log_since_mark -t | grep -q '^ip_vs_sync_auth: unloaded' || fail "no unload line"
grep -q '^ip_vs_sync_auth ' /proc/modules && fail "module still listed after rmmod"
# Load/unload cycles leave nothing behind.
for i in 1 2 3; do
	insmod "$IPVS_AUTH_KO" || fail "reload $i failed"
	rmmod ip_vs_sync_auth || fail "unload $i failed"
done
if log_since_mark | grep -E 'BUG:|WARNING:|Oops|refcount_t' ; then
	fail "kernel reported a problem"
fi
info "load/unload cycles clean"
