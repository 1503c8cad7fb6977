# SPDX-License-Identifier: GPL-2.0
#
# Keys that never touch argv: the patched ipvsadm's --icv-key-file FILE
# (and - for standard input) for the seed key, as a daemon option and for
# the extended format's keys (--icv-ext add:ID --icv-key-file FILE). A key
# file that group or others may access, that another user owns, that is
# empty, too long, missing or a directory is refused with one line and
# exit 1, and the key in the kernel stays as it was; standard input
# redirected from such a file likewise. A key read from a file syncs with
# the same key given on the command line (one trailing newline ignored).
# The man page documents every --icv option ipvsadm --help lists.
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/topology.sh"

IPVSADM=${IPVSADM_AUTH:-}
[ -x "$IPVSADM" ] || skip "patched ipvsadm not built (scripts/build-ipvsadm.sh)"
"$IPVSADM" --help 2>&1 | grep -q -- --icv-key-file || fail "$IPVSADM has no --icv-key-file"

# The man page of the same build.
man8=$(dirname "$(dirname "$IPVSADM")")/build/ipvsadm-1.31/ipvsadm.8
[ -f "$man8" ] || fail "no $man8"
for opt in $("$IPVSADM" --help 2>&1 | grep -o -- '--icv[a-z-]*' | sort -u); do
	grep -qE "^\.B $opt( |\$)" "$man8" || fail "ipvsadm.8 does not document $opt"
done
info "ipvsadm.8 documents $("$IPVSADM" --help 2>&1 | grep -o -- '--icv[a-z-]*' | sort -u | tr '\n' ' ')"

load_module
keys=$(mktemp -d)
trap 'topology_cleanup; rm -rf "$keys"' EXIT
chmod 700 "$keys"
printf 'tot0234\n' >"$keys/seed"
chmod 600 "$keys/seed"

# Refusals: exact message, exit 1, and no key installed.
refuse() {
	want=$1
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" = 1 ] || fail "'$*' exited $rc, expected 1 ($out)"
	[ "$out" = "$want" ] || fail "'$*' said '$out', expected '$want'"
	[ "$(counter "$NS_DIRA" enabled)" = 0 ] || fail "'$*' installed a key"
	info "refused: $out"
}
topology_setup
nsx "$NS_DIRA" "$IPVSADM" --icv-key-clear || fail "cannot clear the key"
f=$keys/open
printf 'k\n' >"$f"
for mode in 644 640 604 660 602; do
	chmod "$mode" "$f"
	refuse "ipvsadm: --icv-key-file: $f: permissions 0$mode are too open: the key file must not be accessible by group or others (chmod 600)" \
		nsx "$NS_DIRA" "$IPVSADM" --icv-key-file "$f"
done
chmod 644 "$f"
refuse "ipvsadm: --icv-key-file: standard input: permissions 0644 are too open: the key file must not be accessible by group or others (chmod 600)" \
	nsx "$NS_DIRA" sh -c "exec '$IPVSADM' --icv-key-file - <'$f'"
chmod 600 "$f"
chown 65534 "$f"
refuse "ipvsadm: --icv-key-file: $f: owned by uid 65534, not by uid 0" nsx "$NS_DIRA" "$IPVSADM" --icv-key-file "$f"
: >"$keys/empty"
chmod 600 "$keys/empty"
refuse "ipvsadm: --icv-key-file: $keys/empty: the key must be 6 to 64 bytes (one trailing newline ignored)" \
	nsx "$NS_DIRA" "$IPVSADM" --icv-key-file "$keys/empty"
printf 'abcde\n' >"$keys/short"
chmod 600 "$keys/short"
refuse "ipvsadm: --icv-key-file: $keys/short: the key must be 6 to 64 bytes (one trailing newline ignored)" \
	nsx "$NS_DIRA" "$IPVSADM" --icv-key-file "$keys/short"
printf '%065d\n' 0 >"$keys/long"
chmod 600 "$keys/long"
refuse "ipvsadm: --icv-key-file: $keys/long: the key must be 6 to 64 bytes (one trailing newline ignored)" \
	nsx "$NS_DIRA" "$IPVSADM" --icv-key-file "$keys/long"
refuse "ipvsadm: --icv-key-file: $keys/none: No such file or directory" \
	nsx "$NS_DIRA" "$IPVSADM" --icv-key-file "$keys/none"
refuse "ipvsadm: --icv-key-file: $keys: is a directory" nsx "$NS_DIRA" "$IPVSADM" --icv-key-file "$keys"
# A FIFO another user planted at the key's path would let that user choose
# the key (and, opened blocking, stall the boot): refused like a file, at
# once, even with a writer waiting; devices are refused.
mkfifo -m 600 "$keys/fifo"
chown 65534 "$keys/fifo"
(printf 'attacker-chosen\n' >"$keys/fifo") 2>/dev/null &
writer=$!
refuse "ipvsadm: --icv-key-file: $keys/fifo: owned by uid 65534, not by uid 0" \
	timeout 10 ip netns exec "$NS_DIRA" "$IPVSADM" --icv-key-file "$keys/fifo"
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
refuse "ipvsadm: --icv-key-file: /dev/zero: not a regular file or a pipe" \
	nsx "$NS_DIRA" "$IPVSADM" --icv-key-file /dev/zero
# A key on the command line next to --icv-ext is refused, not ignored.
for op in seed clear activate:1; do
	out=$(nsx "$NS_DIRA" "$IPVSADM" --icv-ext "$op" --icv-key secret 2>&1)
	rc=$?
	[ "$rc" = 2 ] || fail "--icv-ext $op --icv-key exited $rc ($out), expected 2"
	[ "$out" = "ipvsadm: --icv-key: not with --icv-ext: add:ID:KEY or add:ID --icv-key-file FILE" ] ||
		fail "--icv-ext $op --icv-key said '$out'"
done
[ "$(counter "$NS_DIRA" enabled)" = 0 ] || fail "--icv-ext with --icv-key installed a key"
info "--icv-ext with --icv-key: refused (exit 2)"
out=$(nsx "$NS_DIRA" "$IPVSADM" --icv-key x --icv-key-file "$keys/seed" 2>&1) && fail "--icv-key with --icv-key-file accepted"
info "--icv-key and --icv-key-file together: $out"
# Under -R standard input is the rules: '-' there is refused (exit 2).
out=$(printf -- '--icv-key-file -\ntot0234\n' | nsx "$NS_DIRA" "$IPVSADM" -R 2>&1)
rc=$?
[ "$rc" = 2 ] || fail "-R with --icv-key-file - exited $rc ($out), expected 2"
[ "$out" = "ipvsadm: --icv-key-file -: not inside -R (standard input holds the rules); name a file" ] ||
	fail "-R with --icv-key-file - said '$out'"
[ "$(counter "$NS_DIRA" enabled)" = 0 ] || fail "-R with --icv-key-file - installed a key"
out=$(printf -- '--icv-key-file /dev/stdin\ntot0234\n' | nsx "$NS_DIRA" "$IPVSADM" -R 2>&1)
rc=$?
[ "$rc" = 2 ] || fail "-R with --icv-key-file /dev/stdin exited $rc ($out), expected 2"
[ "$(counter "$NS_DIRA" enabled)" = 0 ] || fail "-R with --icv-key-file /dev/stdin installed a key"
info "-R with --icv-key-file -: refused"

# -R stops at its first failed line and exits with its status (upstream
# runs every line and exits with the last one's). Line 2 fails in the
# kernel (the service exists already): the good line 3 must not be applied
# and the good last line must not make the exit status 0. The same for a
# daemon line that fails (no such interface) before a rule.
for case in svc daemon; do
	if [ "$case" = svc ]; then
		rules='-A -u 10.99.0.1:500 -s rr\n-A -u 10.99.0.1:500 -s rr\n-A -u 10.99.0.2:500 -s rr\n'
		bad=2 good=10.99.0.1:500 after=10.99.0.2:500
	else
		rules='--start-daemon master --mcast-interface nosuch0\n-A -u 10.99.0.3:500 -s rr\n'
		bad=1 good= after=10.99.0.3:500
	fi
	out=$(printf -- "$rules" | nsx "$NS_DIRA" "$IPVSADM" -R 2>&1)
	rc=$?
	[ "$rc" != 0 ] || fail "-R ($case): line $bad failed but -R exited 0 ($out)"
	printf '%s\n' "$out" | grep -qx "ipvsadm: -R: line $bad failed; the lines after it were not applied" ||
		fail "-R ($case): no line naming line $bad ($out)"
	table=$(nsx "$NS_DIRA" ipvsadm -Ln)
	if [ -n "$good" ]; then
		printf '%s\n' "$table" | grep -q "UDP  $good " || fail "-R ($case): line 1 was not applied"
	fi
	if printf '%s\n' "$table" | grep -q "UDP  $after "; then
		fail "-R ($case): a line after the failed line $bad was applied"
	fi
	[ -z "$good" ] || nsx "$NS_DIRA" ipvsadm -D -u "$good" || fail "cannot remove $good"
	info "-R ($case): stopped at line $bad, exit $rc"
done

# 64 bytes plus a newline is a 64-byte key; stdin from a pipe works.
printf '%064d\n' 0 >"$keys/max"
chmod 600 "$keys/max"
nsx "$NS_DIRA" "$IPVSADM" --icv-key-file "$keys/max" || fail "64-byte key file refused"
[ "$(counter "$NS_DIRA" enabled)" = 1 ] || fail "64-byte key file: no key"
nsx "$NS_DIRA" "$IPVSADM" --icv-key-clear || fail "cannot clear the key"
printf 'from-a-pipe' | nsx "$NS_DIRA" "$IPVSADM" --icv-key-file - || fail "key from a pipe refused"
[ "$(counter "$NS_DIRA" enabled)" = 1 ] || fail "key from a pipe: no key"
nsx "$NS_DIRA" "$IPVSADM" --icv-key-clear || fail "cannot clear the key"

# The master keyed from a file as a daemon option, the backup from stdin
# with a CR LF line end: both hold tot0234 (the line ends ignored); a
# control backup keyed on the command line proves it is the same key.
printf 'tot0234\r\n' >"$keys/seed-crlf"
chmod 600 "$keys/seed-crlf"
# A CR without an LF after it is part of the key: 8 bytes, a different key.
printf 'tot0234\r' >"$keys/seed-cr"
chmod 600 "$keys/seed-cr"
fp_a() { nsx "$NS_DIRA" awk '$1 == "seed_key:" { print $3 }' /proc/net/ip_vs_sync_auth; }
nsx "$NS_DIRA" "$IPVSADM" --icv-key-file "$keys/seed-cr" || fail "key file ending in a lone CR refused"
fp_cr=$(fp_a)
nsx "$NS_DIRA" "$IPVSADM" --icv-key tot0234 || fail "cannot set tot0234"
[ -n "$fp_cr" ] && [ "$fp_cr" != "$(fp_a)" ] || fail "a lone CR was stripped from the key ($fp_cr)"
nsx "$NS_DIRA" "$IPVSADM" --icv-key-clear || fail "cannot clear the key"
nsx "$NS_DIRA" "$IPVSADM" --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 \
	--icv-key-file "$keys/seed" || fail "cannot start the master with --icv-key-file"
listing=$(nsx "$NS_DIRA" "$IPVSADM" -L --daemon)
echo "$listing"
echo "$listing" | grep -q 'maxlen=1456' || fail "master maxlen not lowered for the auth header"
echo "$listing" | grep -qx 'auth hmac-md5-96' || fail "no 'auth hmac-md5-96' line"
nsx "$NS_DIRB" sh -c "exec '$IPVSADM' --icv-key-file - <'$keys/seed-crlf'" || fail "backup: key from stdin refused"
nsx "$NS_DIRB" ipvsadm --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 ||
	fail "cannot start the backup"
expect_synced_authenticated 20
info "keys from a file (master) and stdin with CR LF (backup): 20 connections synced, no drop"
nsx "$NS_DIRB" "$IPVSADM" --icv-key tot0234 || fail "cannot key the backup on the command line"
a0=$(counter "$NS_DIRB" rx_accepted)
make_connections 5
wait_accepted_above "$a0" || fail "the command-line key 'tot0234' does not verify the file's key"
expect_counter "$NS_DIRB" rx_drop_bad_icv 0
info "the file's key equals --icv-key tot0234"

# The extended format: keys by ID from files, a rotation 1 -> 2 with the
# second key from a pipe.
nsx "$NS_DIRA" "$IPVSADM" --stop-daemon master || fail "cannot stop the master"
printf 'first-ext-key\n' >"$keys/ext1"
chmod 600 "$keys/ext1"
for ns in "$NS_DIRA" "$NS_DIRB"; do
	nsx "$ns" "$IPVSADM" --icv-key-clear || fail "cannot clear the seed key"
	nsx "$ns" "$IPVSADM" --icv-ext ext || fail "--icv-ext ext failed"
	nsx "$ns" "$IPVSADM" --icv-ext add:1 --icv-key-file "$keys/ext1" || fail "$ns: add:1 from a file failed"
done
nsx "$NS_DIRA" "$IPVSADM" --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 ||
	fail "cannot restart the master"
nsx "$NS_DIRA" "$IPVSADM" -L --daemon | grep -qx 'auth hmac-md5-96 ext keys 1\*' || fail "no ext key 1 signing"
a0=$(counter "$NS_DIRB" rx_accepted)
for step in add:2 activate:2 retire:1; do
	for ns in "$NS_DIRB" "$NS_DIRA"; do
		if [ "$step" = add:2 ]; then
			printf 'second-ext-key' | nsx "$ns" "$IPVSADM" --icv-ext add:2 --icv-key-file - ||
				fail "$ns: add:2 from stdin failed"
		else
			nsx "$ns" "$IPVSADM" --icv-ext "$step" || fail "$ns: --icv-ext $step failed"
		fi
	done
	make_connections 5
done
wait_accepted_above "$a0" || fail "nothing accepted in the extended format"
nsx "$NS_DIRB" "$IPVSADM" -L --daemon | grep -qx 'auth hmac-md5-96 ext keys 2\*' || fail "backup not on key 2"
for c in rx_drop_bad_header rx_drop_replay rx_drop_bad_icv; do
	expect_counter "$NS_DIRB" "$c" 0
done
info "--icv-ext add:ID --icv-key-file: rotation 1 -> 2 synced, no drop"

ext_refuse() {
	want=$1
	shift
	out=$(nsx "$NS_DIRB" "$IPVSADM" --icv-ext "$@" 2>&1) && fail "--icv-ext $* succeeded"
	[ "$out" = "$want" ] || fail "--icv-ext $*: '$out', expected '$want'"
	info "refused: $out"
}
ext_refuse "ipvsadm: --icv-ext: add:3 needs a key: add:ID:KEY or add:ID --icv-key-file FILE" add:3
ext_refuse "ipvsadm: --icv-key-file: with --icv-ext only add:ID takes a key file" activate:2 --icv-key-file "$keys/ext1"
ext_refuse "ipvsadm: --icv-key-file: with --icv-ext only add:ID takes a key file" add:3:key-three --icv-key-file "$keys/ext1"
chmod 640 "$keys/ext1"
ext_refuse "ipvsadm: --icv-key-file: $keys/ext1: permissions 0640 are too open: the key file must not be accessible by group or others (chmod 600)" \
	add:3 --icv-key-file "$keys/ext1"
nsx "$NS_DIRB" "$IPVSADM" -L --daemon | grep -qx 'auth hmac-md5-96 ext keys 2\*' || fail "a refused add changed the keys"
