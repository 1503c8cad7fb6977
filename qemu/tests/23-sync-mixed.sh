# SPDX-License-Identifier: GPL-2.0
#
# Mixed clusters fail closed: a backup with the module but no key, and a
# backup without the module, both receive authenticated v1 messages and
# apply none of their entries. A plaintext control message with the same
# entries is applied, so the crafted messages are otherwise sound.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

trap topology_cleanup EXIT

check_backup() {
	label=$1
	# Authenticated messages (as a keyed master sends them), several seqs.
	for seq in 1 2 3; do
		nsx "$NS_DIRA" $SYNCAUTH send --src 10.0.3.1 --key tot0234 --seq $seq \
			--cip 10.9.9.$seq --conns 4 || fail "$label: send failed"
	done
	# Real authenticated traffic from a keyed master, if the module is there.
	sleep 2
	if nsx "$NS_DIRB" ipvsadm -Lnc | grep -q ' 10\.9\.9\.'; then
		fail "$label: applied entries of an authenticated message"
	fi
	info "$label: authenticated messages applied nothing"
	nsx "$NS_DIRA" $SYNCAUTH send --src 10.0.3.1 --cip 10.9.7.7 || fail "$label: control send failed"
	wait_for 5 sh -c "ip netns exec $NS_DIRB ipvsadm -Lnc | grep -q ' 10\.9\.7\.7:'" ||
		fail "$label: control plaintext message not applied"
	info "$label: plaintext control applied"
}

# 1. The module is loaded, the master has a key, the backup has none.
load_module
SUFFIX=a$$
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"
topology_setup
nsx "$NS_DIRA" $SYNCAUTH key set tot0234 || fail "cannot set the master's key"
start_sync
make_connections 5
sleep 3
if nsx "$NS_DIRB" ipvsadm -Lnc | grep -q " $CIP:"; then
	fail "keyless backup applied entries from an authenticated master"
fi
[ "$(counter "$NS_DIRA" tx_signed)" -gt 0 ] || fail "master signed nothing"
expect_counter "$NS_DIRB" rx_accepted 0
info "keyless backup: real authenticated sync applied nothing"
check_backup "module, no key"
topology_cleanup

# 2. No module at all on the backup.
unload_module
SUFFIX=b$$
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"
topology_setup
start_sync
check_backup "no module"
