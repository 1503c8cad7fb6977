# SPDX-License-Identifier: GPL-2.0
#
# Baseline with stock IPVS and Debian's ipvsadm (our module not loaded):
# director A runs the master sync daemon, director B the backup; real
# traffic through A's virtual service creates connections, and B's
# `ipvsadm -Lnc` must show every one of them. This proves the harness
# against the real tools before any authentication is involved.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

N=${N:-20}
checktool "ipvsadm -v" "ipvsadm is not installed"
checktool "/usr/bin/python3 -V" "python3 is not installed"
load_ip_vs
unload_module
trap topology_cleanup EXIT
topology_setup
start_sync

nsx "$NS_DIRA" ipvsadm -L --daemon
nsx "$NS_DIRB" ipvsadm -L --daemon
[ "$(conn_count "$NS_DIRB")" = 0 ] || fail "backup has connections before any traffic"

make_connections "$N"
master=$(conn_count "$NS_DIRA")
[ "$master" -ge "$N" ] || fail "master shows $master connections, expected $N"
info "master has $master connections from $CIP"

# The master flushes a partial sync buffer after at most 2 s.
wait_for 15 sh -c "[ \$(ip netns exec $NS_DIRB ipvsadm -Lnc | grep -c ' $CIP:') -ge $N ]" ||
	fail "backup shows $(conn_count "$NS_DIRB") of $N connections"
info "backup has $(conn_count "$NS_DIRB") connections from $CIP:"
nsx "$NS_DIRB" ipvsadm -Lnc | head -n 5
# Every client port seen on the master is on the backup.
nsx "$NS_DIRA" ipvsadm -Lnc | awk -v c="$CIP:" '$0 ~ c {print $4, $5, $6}' | sort >"$IPVS_AUTH_OUT/baseline-master.txt"
nsx "$NS_DIRB" ipvsadm -Lnc | awk -v c="$CIP:" '$0 ~ c {print $4, $5, $6}' | sort >"$IPVS_AUTH_OUT/baseline-backup.txt"
cmp -s "$IPVS_AUTH_OUT/baseline-master.txt" "$IPVS_AUTH_OUT/baseline-backup.txt" ||
	fail "backup's client addresses differ from the master's"
info "backup table matches the master's"
