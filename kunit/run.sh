# SPDX-License-Identifier: GPL-2.0
#
# Guest script: loads ip_vs_sync_auth, whose KUnit suites run at insmod, and
# saves their KTAP output to $IPVS_AUTH_OUT/kunit.ktap for the host to parse.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"

load_ip_vs
dmesg -C
insmod "$IPVS_AUTH_KO" || fail "insmod failed"
unload_module
# Only what our module printed since the log was cleared: its KTAP report.
dmesg -t >"$IPVS_AUTH_OUT/kunit.dmesg"
sed -n '/KTAP version/,$p' "$IPVS_AUTH_OUT/kunit.dmesg" >"$IPVS_AUTH_OUT/kunit.ktap"
cat "$IPVS_AUTH_OUT/kunit.ktap"
