# SPDX-License-Identifier: GPL-2.0
#
# No window in which a keyed backup applies an unauthenticated message,
# tried from the attacker's side: a host on the sync LAN (atk) floods
# plaintext IPVS messages (entries for clients 10.9.x.x) at the backup
#   1. while the backup daemon is stopped and started over and over with
#      its key set beforehand, the keepalived way (IPVS opens its sockets
#      before it marks the daemon running, and unmarks it before its
#      threads stop reading);
#   2. after the format was switched to the extended one before any
#      extended key exists (the seed key is still set: authentication stays
#      on, the datagrams are dropped as rx_drop_no_key);
# and the master, switched the same way, sends nothing in plaintext.
#   3. A local unprivileged process on the master sends a well-formed
#      message of the master's SyncID to the group: it is not signed, and
#      the backup drops it.
# Each part shows the backup's table without any crafted entry and the
# counter that explains why.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
SYNC_LAN=bridge
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

IPVSADM=${IPVSADM_AUTH:-}
[ -x "$IPVSADM" ] || skip "the patched ipvsadm is not built (make setup)"
KEY=fail-open-key
ROUNDS=25
load_module
trap topology_cleanup EXIT
topology_setup
nsx "$NS_DIRA" "$IPVSADM" --icv-key "$KEY" || fail "cannot set the master's key"
nsx "$NS_DIRB" "$IPVSADM" --icv-key "$KEY" || fail "cannot set the backup's key"
start_sync
make_connections_synced 3 || fail "legitimate sync does not work"

crafted() {
	nsx "$NS_DIRB" ipvsadm -Lnc | grep -c ' 10\.9\.'
}

# flood SECONDS CIP: plaintext messages from atk, 40 entries each.
flood() {
	nsx "$NS_ATK" $SYNCAUTH flood --plain --seconds "$1" --src "$ATK_IP" --cip "$2" --conns 40
}

# 1. Daemon stop and start under a plaintext flood.
flood $((ROUNDS * 2 + 10)) 10.9.1.1 >"$IPVS_AUTH_OUT/flood1.txt" &
fl=$!
# The flood is on the wire before the first restart.
before=$(counter "$NS_DIRB" rx_drop_bad_header)
wait_for 20 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_bad_header) -gt $before ]" ||
	fail "the flood does not reach the backup"
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	nsx "$NS_DIRB" ipvsadm --stop-daemon backup || fail "cannot stop the backup (round $i)"
	nsx "$NS_DIRB" ipvsadm --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 ||
		fail "cannot start the backup (round $i)"
	i=$((i + 1))
done
wait "$fl" || fail "the flood failed"
sent=$(cut -d' ' -f1 "$IPVS_AUTH_OUT/flood1.txt")
dropped=$(counter "$NS_DIRB" rx_drop_bad_header)
n=$(crafted)
[ "$n" = 0 ] || fail "$n plaintext entries applied during $ROUNDS daemon restarts"
[ "$dropped" -gt 0 ] || fail "no plaintext datagram counted as dropped"
info "$ROUNDS backup restarts under a plaintext flood ($sent sent): $dropped dropped (rx_drop_bad_header), none applied"
# The restarted backup still syncs.
make_connections_synced 3 || fail "sync does not work after the restarts"

# 2. The extended format selected before any extended key exists.
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" $SYNCAUTH ext mode ext || fail "cannot select the extended format"
done
[ "$(counter "$NS_DIRB" enabled)" = 1 ] || fail "authentication is off after the format switch"
capture_start "$NS_ATK" "$IPVS_AUTH_OUT/switch.bin" 6
txe=$(counter "$NS_DIRA" tx_error)
make_connections 3
flood 3 10.9.2.2 >/dev/null || fail "the flood failed"
wait "$cap" || fail "the capture failed"
n=$(crafted)
[ "$n" = 0 ] || fail "$n plaintext entries applied after the format switch"
nokey=$(counter "$NS_DIRB" rx_drop_no_key)
[ "$nokey" -gt 0 ] || fail "the backup counted no rx_drop_no_key"
# What went on the wire: the attacker's flood, and nothing from the master
# (it has no key of the extended format and must not send plaintext).
from_master=$(nsx "$NS_ATK" /usr/bin/python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
off = n = 0
while off + 3 <= len(d):
    ttl, ln = struct.unpack_from("!BH", d, off)
    m = d[off + 3:off + 3 + ln]
    off += 3 + ln
    # The flood carries 40 entries of 10.9.2.2; anything else is the master.
    if not (len(m) > 8 and m[4] == 40):
        n += 1
print(n)' "$IPVS_AUTH_OUT/switch.bin")
[ "$from_master" = 0 ] || fail "the master sent $from_master datagrams after the format switch"
txe2=$(counter "$NS_DIRA" tx_error)
[ "$txe2" -gt "$txe" ] || fail "the master counted no tx_error for messages it could not sign"
info "format switch without an extended key: backup dropped $nokey (rx_drop_no_key), master sent nothing ($((txe2 - txe)) tx_error)"
# With the extended key, sync resumes.
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" $SYNCAUTH ext add 1 "$KEY-ext" || fail "cannot add the extended key"
done
make_connections_synced 3 || fail "extended sync does not work"

# 3. A local unprivileged sender on the master: a well-formed plaintext
# message of the master's SyncID to the group and port.
# make_connections_synced returned once the backup listed the connections;
# their later state changes (FIN_WAIT, TIME_WAIT) may still sit in the
# master's sync buffer, which IPVS sends 2-3 s after its first entry
# (signed: tx_signed + 1). Read tx_signed once it has held for longer.
tx_signed_settled() {
	signed=$(counter "$NS_DIRA" tx_signed)
	sleep 4
	[ "$(counter "$NS_DIRA" tx_signed)" = "$signed" ]
}
# Up to 6 tries (each 4 s and two reads).
tries=0
until tx_signed_settled; do
	tries=$((tries + 1))
	[ "$tries" -lt 6 ] || fail "the master's tx_signed does not settle"
done
hdr=$(counter "$NS_DIRB" rx_drop_bad_header)
nsx "$NS_DIRA" $NOBODY $SYNCAUTH send --src 10.0.3.1 --syncid 150 --cip 10.9.3.3 ||
	fail "unprivileged send failed"
wait_for 10 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_bad_header) -gt $hdr ]" ||
	fail "the backup did not drop the unprivileged datagram as bad_header"
[ "$(counter "$NS_DIRA" tx_signed)" = "$signed" ] || fail "the master signed something for the unprivileged sender"
n=$(crafted)
[ "$n" = 0 ] || fail "the unprivileged sender's entry was applied"
info "unprivileged local sender: not signed, dropped by the backup"
