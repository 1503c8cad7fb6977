# SPDX-License-Identifier: GPL-2.0
#
# Commands of Documentation/ip_vs_sync_auth.rst as written (issue 22:
# every command works when copied), the ones no other test runs:
#   1. the Quick start: master and backup each started with
#      --icv-key-file on the daemon line, the same key file: 20
#      connections synced authenticated, no drop; the backup's key is the
#      file's line (a message Python signs with it is applied, one with a
#      character changed is a bad ICV);
#   2. "Extended format, a clock ahead" and `ipvsadm --icv-ext
#      reset-replay`: one message from a director whose clock is a day
#      ahead (Python-signed with the pair's key, the master's SyncID and
#      thread) raises the backup's mark, the real master's messages are
#      then dropped as replays and none of its connections applied;
#      `ipvsadm --icv-ext reset-replay` on the backup (and only that) lets
#      them in again. reset-replay is refused without CAP_NET_ADMIN.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
SYNC_LAN=bridge
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

IPVSADM=${IPVSADM_AUTH:-}
[ -x "$IPVSADM" ] || skip "patched ipvsadm not built (scripts/build-ipvsadm.sh)"
checktool "/usr/bin/python3 -V" "python3 is not installed"
load_module
keys=$(mktemp -d)
trap 'topology_cleanup; rm -rf "$keys"' EXIT
topology_setup

# --- 1. The Quick start, with the key file made by the README's command
# (in a directory of its own instead of /etc/ip-vs-sync-auth).
(umask 077; head -c 32 /dev/urandom | base64 > "$keys/sync.key")
[ "$(stat -c %a "$keys/sync.key")" = 600 ] || fail "the README's command made a key file of mode $(stat -c %a "$keys/sync.key")"
nsx "$NS_DIRA" "$IPVSADM" --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 \
	--icv-key-file "$keys/sync.key" || fail "Quick start: the master line failed"
nsx "$NS_DIRB" "$IPVSADM" --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 \
	--icv-key-file "$keys/sync.key" || fail "Quick start: the backup line failed"
[ "$(counter "$NS_DIRB" enabled)" = 1 ] || fail "the backup line installed no key"
expect_synced_authenticated 20
info "Quick start as written: 20 connections synced authenticated, no drop"
# The backup holds the file's line (its newline not part of the key): a
# message Python signs with it is applied, one signed with that line
# changed in its last character is a bad ICV and not applied.
key=$(cat "$keys/sync.key")
case $key in *A) other=${key%?}B ;; *) other=${key%?}A ;; esac
b0=$(counter "$NS_DIRB" rx_drop_bad_icv)
nsx "$NS_ATK" $SYNCAUTH send --src "$ATK_IP" --key "$other" --seq 4000000000 --cip 10.9.6.1 ||
	fail "send failed"
wait_for 5 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_bad_icv) -gt $b0 ]" ||
	fail "a message under another key was not a bad ICV at the backup"
nsx "$NS_DIRB" ipvsadm -Lnc | grep -q ' 10\.9\.6\.1:' && fail "a message under another key was applied"
nsx "$NS_ATK" $SYNCAUTH send --src "$ATK_IP" --key "$key" --seq 4000000001 --cip 10.9.6.3 ||
	fail "send failed"
wait_for 10 sh -c "ip netns exec $NS_DIRB ipvsadm -Lnc | grep -q ' 10\.9\.6\.3:'" ||
	fail "a message Python signed with the key file's line was not applied"
info "the backup's key is the file's line: Python's message with it applied, with one character changed a bad ICV"

# --- 2. The extended format, a master's clock a day ahead, reset-replay.
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" "$IPVSADM" --stop-daemon "$([ "$ns" = "$NS_DIRA" ] && echo master || echo backup)" ||
		fail "cannot stop the daemon in $ns"
	nsx "$ns" "$IPVSADM" --icv-key-clear || fail "cannot clear the seed key"
	nsx "$ns" "$IPVSADM" --icv-ext ext || fail "--icv-ext ext failed"
	nsx "$ns" "$IPVSADM" --icv-ext add:1:first-key || fail "--icv-ext add:1:first-key failed"
done
nsx "$NS_DIRA" "$IPVSADM" --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 ||
	fail "cannot start the master"
nsx "$NS_DIRB" "$IPVSADM" --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 ||
	fail "cannot start the backup"
# The master's client connections made after snapshot $1: the ones that
# are (new_on_backup) or are not (new_missing) on the backup.
new_conns() {
	conn_set "$NS_DIRA" | comm -13 "$1" -
}
new_missing() {
	new_conns "$1" | comm -23 - "$IPVS_AUTH_OUT/61-backup.txt"
}
snap() {
	conn_set "$NS_DIRA" >"$1"
}
backup_snap() {
	conn_set "$NS_DIRB" >"$IPVS_AUTH_OUT/61-backup.txt"
}
# Waits until every client connection made after snapshot $1 is on the
# backup (at least $2 of them).
wait_new_on_backup() {
	i=0
	while [ "$i" -lt 20 ]; do
		backup_snap
		[ "$(new_conns "$1" | wc -l)" -ge "$2" ] && [ -z "$(new_missing "$1")" ] && return 0
		sleep 1
		i=$((i + 1))
	done
	return 1
}
before=$IPVS_AUTH_OUT/61-before.txt
snap "$before"
make_connections 5
wait_new_on_backup "$before" 5 || fail "extended format: the master's 5 new connections did not reach the backup"
info "extended format, keys from ipvsadm --icv-ext as documented: 5 new connections synced"
# The docs' case: another director of the pair, keyed, its clock a day
# ahead, SyncID 150, thread 0 (the master's stream).
ahead=$((($(date +%s) + 86400) << 32))
a0=$(counter "$NS_DIRB" rx_accepted)
nsx "$NS_ATK" $SYNCAUTH send --src "$ATK_IP" --ext --key-id 1 --key first-key --sender 0 \
	--seq "$ahead" --cip 10.9.6.2 --cport 41000 || fail "send failed"
wait_for 10 sh -c "ip netns exec $NS_DIRB ipvsadm -Lnc | grep -q ' 10\.9\.6\.2:41000 '" ||
	fail "the message from a day ahead was not applied"
[ "$(counter "$NS_DIRB" rx_accepted)" -gt "$a0" ] || fail "rx_accepted did not rise"
# Now every message of the real master is older than the mark.
r0=$(counter "$NS_DIRB" rx_drop_replay)
a0=$(counter "$NS_DIRB" rx_accepted)
snap "$before"
make_connections 5
wait_for 15 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_replay) -gt $r0 ]" ||
	fail "after a clock ahead: the master's messages were not dropped as replays"
sleep 2
[ "$(counter "$NS_DIRB" rx_accepted)" = "$a0" ] ||
	fail "after a clock ahead: the backup accepted $(($(counter "$NS_DIRB" rx_accepted) - a0)) messages"
backup_snap
[ "$(new_missing "$before" | wc -l)" = 5 ] ||
	fail "after a clock ahead: $((5 - $(new_missing "$before" | wc -l))) of the master's 5 new connections were applied"
info "clock a day ahead: the master's messages are replays ($(($(counter "$NS_DIRB" rx_drop_replay) - r0)) dropped), none of its 5 new connections applied"
# Unprivileged: refused, and the mark stays.
out=$(nsx "$NS_DIRB" $NOBODY "$IPVSADM" --icv-ext reset-replay 2>&1) &&
	fail "reset-replay without CAP_NET_ADMIN succeeded"
[ "$out" = "ipvsadm: --icv-ext: permission denied" ] || fail "unprivileged reset-replay said: $out"
info "unprivileged reset-replay refused: $out"
r1=$(counter "$NS_DIRB" rx_drop_replay)
make_connections 2
wait_for 15 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_drop_replay) -gt $r1 ]" ||
	fail "after a refused reset-replay the master's messages were not replays"
[ "$(counter "$NS_DIRB" rx_accepted)" = "$a0" ] || fail "a refused reset-replay reset the mark"
# The documented way out.
nsx "$NS_DIRB" "$IPVSADM" --icv-ext reset-replay || fail "ipvsadm --icv-ext reset-replay failed"
b0=$(counter "$NS_DIRB" rx_drop_bad_icv)
snap "$before"
make_connections 5
wait_new_on_backup "$before" 5 || fail "after reset-replay: $(new_missing "$before" | wc -l) of the master's new connections are not on the backup"
expect_counter "$NS_DIRB" rx_drop_bad_icv "$b0"
info "ipvsadm --icv-ext reset-replay: the master's 5 new connections synced again"
