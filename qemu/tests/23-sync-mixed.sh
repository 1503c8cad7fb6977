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
	# A plaintext control message sent after them, to the same socket of
	# the backup's daemon, which takes datagrams in order: once it is
	# applied, the authenticated ones have been dealt with (absence is
	# checked after a later arrival, not after a sleep).
	nsx "$NS_DIRA" $SYNCAUTH send --src 10.0.3.1 --cip 10.9.7.7 || fail "$label: control send failed"
	wait_for 10 sh -c "ip netns exec $NS_DIRB ipvsadm -Lnc | grep -q ' 10\.9\.7\.7:'" ||
		fail "$label: control plaintext message not applied"
	info "$label: plaintext control applied"
	if nsx "$NS_DIRB" ipvsadm -Lnc | grep -q ' 10\.9\.9\.'; then
		fail "$label: applied entries of an authenticated message"
	fi
	info "$label: authenticated messages applied nothing"
}

# 1. The module is loaded, the master has a key, the backup has none.
load_module
SUFFIX=a$$
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"
topology_setup
nsx "$NS_DIRA" $SYNCAUTH key set tot0234 || fail "cannot set the master's key"
start_sync
make_connections 5
# At least one signed message about them has left the master...
wait_for 15 sh -c "[ \$(ip netns exec $NS_DIRA $SYNCAUTH counter tx_signed) -gt 0 ]" ||
	fail "master signed nothing"
# ...and a later plaintext control on the same path is applied, so they
# have arrived and were dealt with before it.
nsx "$NS_DIRA" $SYNCAUTH send --src 10.0.3.1 --cip 10.9.6.6 || fail "control send failed"
wait_for 10 sh -c "ip netns exec $NS_DIRB ipvsadm -Lnc | grep -q ' 10\.9\.6\.6:'" ||
	fail "control plaintext message not applied"
if nsx "$NS_DIRB" ipvsadm -Lnc | grep -q " $CIP:"; then
	fail "keyless backup applied entries from an authenticated master"
fi
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
