# SPDX-License-Identifier: GPL-2.0
#
# Rolling authentication out on a running pair (issue 22): plaintext ->
# seed format -> extended format with the sysctl net.ipv4.vs.sync_auth_rollout
# (0 enforce, 1 permissive, 2 receive-only, 3 both-formats), following the
# procedures of
# Documentation/ip_vs_sync_auth.rst, "Rolling authentication out", under
# continuous connection churn, with the procedures' own commands (the keys
# from root-only files by the patched ipvsadm: --icv-key-file, --icv-ext
# add:1 --icv-key-file, --icv-ext ext, --icv-key-clear). Checked:
#  - no connection is lost: every client connection the master lists is on
#    the backup after each stage, the churn never fails, the backup drops
#    nothing of the master's and the master drops nothing (tx_error 0);
#  - each stage does what the procedure says on the wire: receive-only
#    sends plaintext (tx_plain) that the keyed backup takes (rx_plain);
#    permissive signs; in both-formats the backup takes the extended
#    format while its own is still the seed's;
#  - the attacker (a third host on the sync LAN, Python messages built from
#    the documented layout): in permissive a message forged under a wrong
#    key is dropped (bad ICV) and a replayed seed datagram as a replay,
#    neither taken as plaintext, while a plaintext injection IS applied
#    (the documented price of the window); in both-formats plaintext is a
#    bad header, and a forged and a replayed seed message are dropped, none
#    applied; once back in enforce, the same plaintext, every other `spare`
#    value and the captured seed-format message are dropped and applied
#    nowhere, and /proc still says enforce; the drops in permissive and
#    both-formats are counted under their reasons exactly, those in
#    enforce as a total and on the attacker's sender line;
#  - only the namespace's network administrator sets the mode: an
#    unprivileged user cannot, nor can root without CAP_NET_ADMIN; /proc
#    shows the mode;
#  - /proc's per-source lines put each of these on the address it came
#    from: the master's accepted messages, the attacker's plaintext and
#    drops.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
SYNC_LAN=bridge
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

checktool "ipvsadm -v" "ipvsadm is not installed"
checktool "/usr/bin/python3 -V" "python3 is not installed"
IPVSADM=${IPVSADM_AUTH:-}
[ -x "$IPVSADM" ] || skip "patched ipvsadm not built (scripts/build-ipvsadm.sh)"
load_module
# The keys as the procedure installs them: ipvsadm --icv-key-file, each
# key in a root-only file (made as the README makes them).
keys=$(mktemp -d)
trap 'touch "$IPVS_AUTH_OUT/rollout-churn.stop"; topology_cleanup; rm -rf "$keys"' EXIT
(umask 077; head -c 32 /dev/urandom | base64 > "$keys/sync.key")
(umask 077; head -c 32 /dev/urandom | base64 > "$keys/ext1.key")
topology_setup

KNOB=net.ipv4.vs.sync_auth_rollout
rollout() {
	for ns in "$NS_DIRA" "$NS_DIRB"; do
		nsx "$ns" sysctl -qw "$KNOB=$1" || fail "$ns: cannot set $KNOB=$1"
	done
}
proc_rollout() {
	sync_proc "$1" rollout
}
# auth_line MODE: ipvsadm -L --daemon's auth line on both directors names
# the mode (nothing in enforce).
auth_line() {
	case $1 in enforce) want="auth hmac-md5-96" ;; *) want="auth hmac-md5-96 rollout $1" ;; esac
	for ns in "$NS_DIRA" "$NS_DIRB"; do
		got=$(nsx "$ns" "$IPVSADM" -L --daemon | grep '^auth')
		[ "$got" = "$want" ] || fail "$ns: ipvsadm -L --daemon says '$got', expected '$want'"
	done
}
has_all() {
	conn_set "$NS_DIRA" >"$IPVS_AUTH_OUT/rollout-master.txt"
	conn_set "$NS_DIRB" >"$IPVS_AUTH_OUT/rollout-backup.txt"
	[ -s "$IPVS_AUTH_OUT/rollout-master.txt" ] &&
		[ -z "$(comm -23 "$IPVS_AUTH_OUT/rollout-master.txt" "$IPVS_AUTH_OUT/rollout-backup.txt")" ]
}
# The backup's drop counters, one line each.
drops() {
	for c in rx_drop_malformed rx_drop_bad_ttl rx_drop_bad_header rx_drop_replay \
		rx_drop_bad_icv rx_drop_no_stream rx_drop_no_key; do
		printf '%s %s\n' "$c" "$(counter "$NS_DIRB" "$c")"
	done
}
# above NS COUNTER N: whether COUNTER of NS is above N.
above() {
	[ "$(counter "$1" "$2")" -gt "$3" ]
}
# grows NS COUNTER SECONDS: whether COUNTER of NS grows within SECONDS.
grows() {
	wait_for "$3" above "$1" "$2" "$(counter "$1" "$2")"
}
# ext1_above N: whether the backup accepted more than N messages under
# extended key 1.
ext1_above() {
	[ "$(ext_key_count "$NS_DIRB" 1 rx_accepted)" -gt "$1" ]
}
# A client address the attacker's messages use, and whether the backup
# lists a connection from it.
FAKE=10.66.0.7
fake_applied() {
	nsx "$NS_DIRB" ipvsadm -Lnc | grep -q " $FAKE:"
}
atk_send() {
	nsx "$NS_ATK" $SYNCAUTH send --src "$ATK_IP" --cip "$FAKE" --ttl 255 "$@" ||
		fail "the attacker could not send"
}

# Unprivileged users and root without CAP_NET_ADMIN cannot change the
# mode; the default is enforce.
[ "$(nsx "$NS_DIRB" sysctl -n "$KNOB")" = 0 ] || fail "$KNOB is not 0 by default"
[ "$(proc_rollout "$NS_DIRB")" = enforce ] || fail "/proc does not say enforce by default"
nsx "$NS_DIRB" $NOBODY sh -c "echo 1 >/proc/sys/net/ipv4/vs/sync_auth_rollout" 2>/dev/null &&
	fail "an unprivileged user set $KNOB"
# Root that dropped CAP_NET_ADMIN owns the file (mode 0644) but is not the
# namespace's network administrator: refused for this knob and a gate's.
NOADMIN="setpriv --inh-caps=-net_admin --bounding-set=-net_admin"
# python3 -c "$WRITE" FILE VALUE: write(2) of VALUE to FILE; on failure
# prints errno's name and exits 1 (dash's echo says "I/O error" whatever
# the error).
WRITE='import errno, os, sys
try:
    os.write(os.open(sys.argv[1], os.O_WRONLY), sys.argv[2].encode())
except OSError as e:
    print(errno.errorcode[e.errno]); sys.exit(1)'
msg=$(nsx "$NS_DIRB" $NOADMIN /usr/bin/python3 -c "$WRITE" /proc/sys/net/ipv4/vs/sync_auth_rollout 1) &&
	fail "root without CAP_NET_ADMIN set $KNOB"
[ "$msg" = EPERM ] || fail "root without CAP_NET_ADMIN: $msg, not EPERM"
gate_before=$(nsx "$NS_DIRB" sysctl -n net.ipv4.vs.ipsec_max_initial)
msg=$(nsx "$NS_DIRB" $NOADMIN /usr/bin/python3 -c "$WRITE" /proc/sys/net/ipv4/vs/ipsec_max_initial 7) &&
	fail "root without CAP_NET_ADMIN set ipsec_max_initial"
[ "$msg" = EPERM ] || fail "root without CAP_NET_ADMIN, ipsec_max_initial: $msg, not EPERM"
[ "$(nsx "$NS_DIRB" sysctl -n net.ipv4.vs.ipsec_max_initial)" = "$gate_before" ] ||
	fail "a refused write changed ipsec_max_initial"
nsx "$NS_DIRB" $NOADMIN sysctl -n "$KNOB" >/dev/null || fail "root without CAP_NET_ADMIN cannot read $KNOB"
nsx "$NS_DIRB" sh -c "echo 4 >/proc/sys/net/ipv4/vs/sync_auth_rollout" 2>/dev/null &&
	fail "$KNOB took 4"
[ "$(proc_rollout "$NS_DIRB")" = enforce ] || fail "a refused write changed the mode"

# A plaintext pair, as before authentication; the daemons run with the
# extended format's maxlen from the start (the procedure's first step).
start_sync --sync-maxlen 1448
make_connections 5
wait_for 20 has_all || fail "the plaintext pair is not in sync"

churn_start rollout-churn
# stage NAME: the churn runs and made connections since the last stage,
# and the backup has every connection the master lists.
last_rounds=0
stage() {
	sleep 2
	kill -0 "$churn" 2>/dev/null || fail "$1: the churn stopped (a connection failed)"
	r=$(churn_rounds)
	[ "$r" -gt "$last_rounds" ] || fail "$1: no churn connection during the stage"
	last_rounds=$r
	wait_for 20 has_all ||
		fail "$1: $(comm -23 "$IPVS_AUTH_OUT/rollout-master.txt" "$IPVS_AUTH_OUT/rollout-backup.txt" | wc -l) master connections missing on the backup"
	[ "$(counter "$NS_DIRA" tx_error)" = 0 ] || fail "$1: the master dropped messages (tx_error)"
	info "$1: backup in sync ($(wc -l <"$IPVS_AUTH_OUT/rollout-master.txt") connections, churn round $r)"
}
drops >"$IPVS_AUTH_OUT/rollout-drops-0.txt"

# --- plaintext -> seed format. ---------------------------------------------
# 1. receive-only on both, then the key on both: the master still sends
#    plaintext, the keyed backup takes it.
rollout 2
[ "$(proc_rollout "$NS_DIRA")" = receive-only ] || fail "/proc does not show receive-only"
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" "$IPVSADM" --icv-key-file "$keys/sync.key" || fail "$ns: ipvsadm --icv-key-file failed"
done
auth_line receive-only
grows "$NS_DIRA" tx_plain 15 || fail "receive-only: the keyed master sent no plaintext"
grows "$NS_DIRB" rx_plain 15 || fail "receive-only: the keyed backup took no plaintext"
[ "$(counter "$NS_DIRA" tx_signed)" = 0 ] || fail "receive-only: the master signed"
stage "receive-only, keys on both"

# 2. permissive: the master signs, the backup verifies and still takes
#    plaintext.
rollout 1
[ "$(proc_rollout "$NS_DIRB")" = permissive ] || fail "/proc does not show permissive"
auth_line permissive
grows "$NS_DIRB" rx_accepted 15 || fail "permissive: the backup accepted no signed message"
capture_sync "$IPVS_AUTH_OUT/rollout-seed.bin" || fail "no seed-format datagram captured"
# The attacker in the window: a forged signed message is a bad ICV and a
# replayed one a replay, neither taken as plaintext; its plaintext is
# applied (the price of the window).
icv0=$(counter "$NS_DIRB" rx_drop_bad_icv)
replay0=$(counter "$NS_DIRB" rx_drop_replay)
atk_send --key "not the key" --seq 4000000000 --cport 41000
wait_for 10 above "$NS_DIRB" rx_drop_bad_icv "$icv0" ||
	fail "permissive: a message forged under a wrong key was not dropped as a bad ICV"
nsx "$NS_ATK" $SYNCAUTH resend --file "$IPVS_AUTH_OUT/rollout-seed.bin" --src "$ATK_IP" >/dev/null ||
	fail "the attacker could not replay the seed datagram"
wait_for 10 above "$NS_DIRB" rx_drop_replay "$replay0" ||
	fail "permissive: a replayed seed datagram was not dropped as a replay"
# Plaintext stops once the master signs: rx_plain settles.
p1=$(counter "$NS_DIRB" rx_plain)
sleep 4
[ "$(counter "$NS_DIRB" rx_plain)" = "$p1" ] || fail "permissive: the backup still takes plaintext of the master"
fake_applied && fail "permissive: the forged signed message was applied"
atk_send --cport 41001
wait_for 10 fake_applied || fail "permissive: plaintext from the attacker was not applied (the documented window)"
[ "$(counter "$NS_DIRB" rx_plain)" = $((p1 + 1)) ] ||
	fail "permissive: the attacker's plaintext is not counted once in rx_plain"
[ "$(counter "$NS_DIRB" rx_drop_bad_icv)" = $((icv0 + 1)) ] || fail "permissive: bad_icv is not +1"
[ "$(counter "$NS_DIRB" rx_drop_replay)" = $((replay0 + 1)) ] || fail "permissive: replay is not +1"
info "permissive: forged and replayed signed messages dropped, injected plaintext applied, as documented"
nsx "$NS_DIRB" ipvsadm -Lnc | grep -q " $FAKE:41000" && fail "permissive: the forged signed message was applied"
stage "permissive, master signing"

# 3. enforce: plaintext is dropped again.
rollout 0
[ "$(proc_rollout "$NS_DIRB")" = enforce ] || fail "/proc does not show enforce"
auth_line enforce
# A mode ipvsadm cannot read (an empty file) or does not know (9) shows as
# "rollout ?", never as enforce: the sysctl's file is bind-mounted over in
# a mount namespace of ipvsadm's own (the module's mode is unchanged).
printf '9\n' >"$IPVS_AUTH_OUT/rollout-unknown"
for masked in "$IPVS_AUTH_OUT/rollout-unknown" /dev/null; do
	got=$(nsx "$NS_DIRB" unshare -m sh -c "mount --bind '$masked' /proc/sys/net/ipv4/vs/sync_auth_rollout &&
		exec '$IPVSADM' -L --daemon" | grep '^auth')
	[ "$got" = "auth hmac-md5-96 rollout ?" ] ||
		fail "sysctl read as $masked: ipvsadm -L --daemon says '$got', expected 'auth hmac-md5-96 rollout ?'"
done
[ "$(proc_rollout "$NS_DIRB")" = enforce ] || fail "masking the sysctl changed the mode"
info "a mode that cannot be read or is not known: 'rollout ?'"
stage "seed format enforced"

# --- seed -> extended format. ---------------------------------------------
# 4. both-formats; extended key 1 on both (the format stays seed); the
#    master switches; then the backup; the seed key goes. No plaintext is
#    taken at any point.
rollout 3
[ "$(proc_rollout "$NS_DIRB")" = both-formats ] || fail "/proc does not show both-formats"
auth_line both-formats
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" "$IPVSADM" --icv-ext add:1 --icv-key-file "$keys/ext1.key" ||
		fail "$ns: ipvsadm --icv-ext add:1 --icv-key-file failed"
done
[ "$(sync_proc "$NS_DIRB" format)" = seed ] ||
	fail "adding an extended key switched the backup's format"
nsx "$NS_DIRA" "$IPVSADM" --icv-ext ext || fail "ipvsadm --icv-ext ext failed on the master"
ext0=$(ext_key_count "$NS_DIRB" 1 rx_accepted)
wait_for 15 ext1_above "$ext0" ||
	fail "both-formats: the seed-format backup took no extended message"
stage "master extended, backup seed (both-formats)"
# The attacker meanwhile: plaintext is the configured (seed) format's bad
# header, a seed message forged under a wrong key a bad ICV, the captured
# seed datagram a replay; none applied, none counted as plaintext.
hdr3=$(counter "$NS_DIRB" rx_drop_bad_header)
icv3=$(counter "$NS_DIRB" rx_drop_bad_icv)
replay3=$(counter "$NS_DIRB" rx_drop_replay)
plain3=$(counter "$NS_DIRB" rx_plain)
atk_send --cport 41010
atk_send --key "not the key" --seq 4000000001 --cport 41011
nsx "$NS_ATK" $SYNCAUTH resend --file "$IPVS_AUTH_OUT/rollout-seed.bin" --src "$ATK_IP" >/dev/null ||
	fail "the attacker could not replay the seed datagram"
three_dropped() {
	[ "$(counter "$NS_DIRB" rx_drop_bad_header)" = $((hdr3 + 1)) ] &&
		[ "$(counter "$NS_DIRB" rx_drop_bad_icv)" = $((icv3 + 1)) ] &&
		[ "$(counter "$NS_DIRB" rx_drop_replay)" = $((replay3 + 1)) ]
}
wait_for 10 three_dropped ||
	fail "both-formats: the attacker's plaintext, forged and replayed messages are not one bad_header, bad_icv and replay each: $(drops | tr '\n' ' ')"
sleep 1
[ "$(counter "$NS_DIRB" rx_plain)" = "$plain3" ] || fail "both-formats: the backup took plaintext"
for p in 41010 41011; do
	nsx "$NS_DIRB" ipvsadm -Lnc | grep -q " $FAKE:$p" && fail "both-formats: the attacker's message ($p) was applied"
done
info "both-formats: the attacker's plaintext, forged and replayed seed messages dropped"
nsx "$NS_DIRB" "$IPVSADM" --icv-ext ext || fail "ipvsadm --icv-ext ext failed on the backup"
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" "$IPVSADM" --icv-key-clear 2>/dev/null || fail "$ns: ipvsadm --icv-key-clear failed"
done
rollout 0
stage "extended format enforced"

churn_end "during the rollout"
drops >"$IPVS_AUTH_OUT/rollout-drops-1.txt"
# The only drops are the attacker's: two forged messages (bad ICV), two
# replays, one plaintext message in both-formats (bad header).
diff "$IPVS_AUTH_OUT/rollout-drops-0.txt" "$IPVS_AUTH_OUT/rollout-drops-1.txt" |
	grep '^>' >"$IPVS_AUTH_OUT/rollout-drops-diff.txt"
base() {
	awk -v c="$1" '$1 == c { print $2 }' "$IPVS_AUTH_OUT/rollout-drops-0.txt"
}
want="> rx_drop_bad_header $(($(base rx_drop_bad_header) + 1))
> rx_drop_replay $(($(base rx_drop_replay) + 2))
> rx_drop_bad_icv $(($(base rx_drop_bad_icv) + 2))"
[ "$(cat "$IPVS_AUTH_OUT/rollout-drops-diff.txt")" = "$want" ] ||
	fail "the backup dropped messages during the rollout: $(tr '\n' ' ' <"$IPVS_AUTH_OUT/rollout-drops-diff.txt")"
info "rollout done: $(churn_rounds) churn rounds, no connection lost, no drop but the attacker's"

# --- enforce again: nothing the attacker sends is taken. -------------------
# Plaintext v1 and v0, other spare values (plaintext-sized), and the seed
# datagram captured in step 2: each dropped by the extended format's
# checks (a bad header; the v0 message, shorter than the extended
# format's headers, as malformed).
dropped_total() {
	drops | awk '{ n += $2 } END { print n }'
}
before=$(dropped_total)
atk_send --cport 41002
atk_send --cport 41003 --v0
port=41004
for spare in 0x0002 0x0004 0x8000 0x0007; do
	atk_send --cport "$port" --spare "$spare"
	port=$((port + 1))
done
nsx "$NS_ATK" $SYNCAUTH resend --file "$IPVS_AUTH_OUT/rollout-seed.bin" --src "$ATK_IP" >/dev/null ||
	fail "the attacker could not replay the seed datagram"
sent=7
drops_cover() {
	[ "$(dropped_total)" -ge $((before + sent)) ]
}
wait_for 10 drops_cover ||
	fail "enforce: $(($(dropped_total) - before)) of the attacker's $sent messages dropped"
[ "$(proc_rollout "$NS_DIRB")" = enforce ] || fail "the attacker's messages changed the mode"
[ "$(nsx "$NS_DIRB" sysctl -n "$KNOB")" = 0 ] || fail "the attacker's messages changed $KNOB"
sleep 1
p=41002
while [ "$p" -le 41007 ]; do
	nsx "$NS_DIRB" ipvsadm -Lnc | grep -q " $FAKE:$p" && fail "enforce: the attacker's message ($p) was applied"
	p=$((p + 1))
done
info "enforce: plaintext v1 and v0, four other spare values and a replayed seed message dropped; /proc says enforce"

# The backup's per-source view (/proc "sender:" lines): the master's
# address accepted messages (signed and, in receive-only, plaintext) and
# dropped none; the attacker's accepted none, had its plaintext taken in
# permissive, and carries its forged message (bad_icv) and the drops above.
# sender_field ADDR FIELD: FIELD of ADDR's line.
sender_field() {
	nsx "$NS_DIRB" awk -v a="$1" -v f="$2" '$1 == "sender:" && $2 == a {
		for (i = 3; i < NF; i++) if ($i == f) print $(i + 1) }' /proc/net/ip_vs_sync_auth
}
nsx "$NS_DIRB" grep '^sender' /proc/net/ip_vs_sync_auth
[ "$(sender_field 10.0.3.1 accepted)" -gt 0 ] || fail "/proc: no accepted message from the master"
[ "$(sender_field 10.0.3.1 plain)" -gt 0 ] || fail "/proc: no plaintext of the master counted (receive-only)"
for f in malformed bad_ttl bad_header replay bad_icv no_stream no_key unknown_key; do
	[ "$(sender_field 10.0.3.1 "$f")" = 0 ] || fail "/proc: the master's address has $f drops"
done
# A drop that found the lines' lock held by another CPU is on no line
# (senders_busy_drops); the attacker's counts below allow for those.
busy=$(sync_proc "$NS_DIRB" senders_busy_drops)
[ -n "$busy" ] || fail "/proc has no senders_busy_drops line"
# atk_drops FIELD N: the attacker's FIELD is N, or short of it by at most
# the busy drops.
atk_drops() {
	v=$(sender_field "$ATK_IP" "$1")
	[ "$v" -le "$2" ] && [ $((v + busy)) -ge "$2" ]
}
[ "$(sender_field "$ATK_IP" accepted)" = 0 ] || fail "/proc: the attacker's address has accepted messages"
[ "$(sender_field "$ATK_IP" plain)" = 1 ] || fail "/proc: the attacker's plaintext in permissive is not counted once"
atk_drops bad_icv 2 || fail "/proc: the attacker's two forged messages are not its bad_icv"
atk_drops replay 2 || fail "/proc: the attacker's two replays are not its replay drops"
atk_drops malformed 1 || fail "/proc: the attacker's v0 message is not its malformed drop"
atk_drops bad_header 7 ||
	fail "/proc: the attacker's plaintext in both-formats and 6 messages in enforce are not its bad_header drops"
info "/proc sender lines: the master's and the attacker's addresses, each with what it sent"
