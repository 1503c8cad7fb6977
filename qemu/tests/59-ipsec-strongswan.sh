# SPDX-License-Identifier: GPL-2.0
#
# Real VPN software through the IPsec gate (issue 20): strongSwan's charon,
# one instance per network namespace (its own strongswan.conf through
# STRONGSWAN_CONF, its own vici socket, its own /run for the pid file),
# IKEv2 with a pre-shared key per client, two real servers behind the
# director in direct routing, the VIP gated and the gate's per-prefix and
# table bounds set low enough to matter for nothing but the test's clients:
#   1. directly: cl1 and cl2 (on two links of the director) each bring a
#      tunnel up, ping an address at the real server through it (raw ESP),
#      and land on different real servers: the one that holds a client's
#      IKE SA is the one its ESP reaches (its CHILD SA counts the pings, the
#      gate's entry names it);
#   2. behind a NAT: cl3 and cl4 sit behind one masquerading namespace
#      (iptables-legacy), so IKE moves to UDP 4500 and ESP travels in UDP
#      (NAT-T); both tunnels come up and pass pings, on the real server of
#      the NAT address's IKE flow;
#   3. rekeying: each client rekeys its IKE SA and its CHILD SA (swanctl
#      --rekey); new SPIs, and the tunnel keeps passing pings.
# Throughout, the gate passes every client's ESP (esp_pass) and refuses
# none (esp_no_entry and esp_initial stay 0).
. "$IPVS_AUTH_TOP/qemu/lib/common.sh"
. "$IPVS_AUTH_TOP/qemu/lib/ipsec_topology.sh"

CHARON=/usr/lib/ipsec/charon
checktool "test -x $CHARON" "strongSwan's charon is not installed (strongswan-charon)"
checktool "command -v swanctl" "swanctl is not installed (strongswan-swanctl)"
checktool "iptables-legacy --version" "iptables-legacy is not installed (iptables)"
checktool "busybox ping --help" "busybox is not installed (busybox-static)"

NS_NAT=nat-$SUFFIX
NS_CL3=cl3-$SUFFIX
NS_CL4=cl4-$SUFFIX
NAT_PUB=10.0.6.2
# Inner addresses: each client's 10.98.N.2, every real server's 10.99.0.1
# (the address a client reaches through its tunnel, whichever real server
# terminates it).
INNER_RS=10.99.0.1
SW=$(mktemp -d)

sw_cleanup() {
	for ns in "$NS_CL3" "$NS_CL4" "$NS_NAT"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	# charon's logs stay in the shared directory for whoever reads a failure.
	logs=$IPVS_AUTH_OUT/$(basename "$0" .sh)-charon
	rm -rf "$logs"
	mkdir -p "$logs"
	for d in "$SW"/*/; do
		[ -f "$d/charon.log" ] && cp "$d/charon.log" "$logs/$(basename "$d").log"
	done
	rm -rf "$SW"
	return 0
}

IPSEC_NO_RESPONDERS=1
ipsec_test_begin dr
trap 'sw_cleanup; ipsec_cleanup; unload_module' EXIT

# The gate's bounds, low but above what the four clients need: the NAT's
# two clients share one entry (one address), the others one each.
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_entries=16
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_entries_per_address=8
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_initial=8
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_initial_per_prefix=2
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_max_entries_per_prefix=2
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_initial_timeout="$(ts 60)"
nsx "$NS_DIR" sysctl -qw net.ipv4.vs.ipsec_established_timeout="$(ts 600)"
# Direct routing: the real servers answer from the VIP, which the director
# forwards back to the clients (it is their router here); a source address
# of its own is a martian unless accepted.
for i in all a1 a3; do
	nsx "$NS_DIR" sysctl -qw net.ipv4.conf.$i.accept_local=1
	nsx "$NS_DIR" sysctl -qw net.ipv4.conf.$i.rp_filter=0
done
nsx "$NS_CL1" ip route add default via "$VIP"

# The NAT: cl3 and cl4 behind nat, which masquerades them as NAT_PUB.
for ns in "$NS_NAT" "$NS_CL3" "$NS_CL4"; do
	ip netns add "$ns" || fail "cannot create netns $ns"
	nsx "$ns" ip link set lo up
done
ipsec_link "$NS_NAT" n0 "$NAT_PUB/24" "$NS_DIR" a4 10.0.6.1/24 fd00:6::2/64 fd00:6::1/64
ipsec_link "$NS_CL3" c0 10.0.7.2/24 "$NS_NAT" n1 10.0.7.1/24 fd00:7::2/64 fd00:7::1/64
ipsec_link "$NS_CL4" c0 10.0.8.2/24 "$NS_NAT" n2 10.0.8.1/24 fd00:8::2/64 fd00:8::1/64
nsx "$NS_NAT" ip route add default via 10.0.6.1
nsx "$NS_CL3" ip route add default via 10.0.7.1
nsx "$NS_CL4" ip route add default via 10.0.8.1
nsx "$NS_NAT" sysctl -qw net.ipv4.ip_forward=1
nsx "$NS_NAT" iptables-legacy -t nat -A POSTROUTING -o n0 -j MASQUERADE ||
	fail "cannot set up masquerading in the NAT namespace"

# sw_conf NAME: a strongswan.conf for instance NAME under $SW/NAME.
sw_conf() {
	d=$SW/$1
	mkdir -p "$d"
	cat >"$d/strongswan.conf" <<EOF
charon {
	load_modular = no
	load = random nonce aes sha1 sha2 hmac gmp kdf pem pkcs1 pubkey x509 kernel-netlink socket-default vici
	install_routes = no
	install_virtual_ip = no
	retransmit_tries = 3
	plugins {
		vici {
			socket = unix://$d/charon.vici
		}
	}
	filelog {
		log {
			path = $d/charon.log
			flush_line = yes
			time_format = %T
			default = 1
			ike = 2
			knl = 2
			cfg = 1
		}
	}
	syslog {
		daemon {
			default = -1
		}
	}
}
swanctl {
	load = random nonce pem pkcs1 x509 pubkey
	socket = unix://$d/charon.vici
}
EOF
}

# sw_start NS NAME: starts charon NAME in namespace NS. The pid file's path
# (/var/run/charon.pid) is built into charon: each instance gets a private
# /run in the mount namespace ip netns exec made for it.
sw_start() {
	d=$SW/$2
	STRONGSWAN_CONF=$d/strongswan.conf ip netns exec "$1" sh -c \
		"mount -t tmpfs tmpfs /run && exec $CHARON" >"$d/charon.out" 2>&1 &
	wait_for 20 test -S "$d/charon.vici" ||
		fail "charon $2 did not open its vici socket: $(tail -5 "$d/charon.out" "$d/charon.log" 2>&1)"
	sw "$2" --load-all --file "$d/swanctl.conf" >"$d/load.out" 2>&1 ||
		fail "swanctl --load-all for $2: $(cat "$d/load.out")"
}

# sw NAME ARG...: swanctl against instance NAME.
sw() {
	name=$1
	shift
	STRONGSWAN_CONF=$SW/$name/strongswan.conf swanctl "$@" --uri "unix://$SW/$name/charon.vici"
}

# No MOBIKE: a client must not move its SAs to another address of the
# server's (the director routes, the VIP is the only way in).
PROPOSALS="proposals = aes128-sha256-modp2048
		mobike = no"
ESP_PROPOSALS="esp_proposals = aes128-sha256"

# Real servers: one connection for every client, each client its own PSK.
# The tunnels' inner packets arrive on r0 from addresses routed elsewhere:
# no reverse path filter.
for n in 1 2; do
	eval ns=\$NS_RS$n
	for i in all r0; do
		nsx "$ns" sysctl -qw net.ipv4.conf.$i.rp_filter=0
	done
	sw_conf "rs$n"
	nsx "$ns" ip addr add "$INNER_RS/32" dev lo
	cat >"$SW/rs$n/swanctl.conf" <<EOF
connections {
	rw {
		version = 2
		$PROPOSALS
		local {
			auth = psk
			id = vpn.test
		}
		remote {
			auth = psk
		}
		children {
			net {
				local_ts = $INNER_RS/32
				remote_ts = 10.98.0.0/16
				$ESP_PROPOSALS
			}
		}
	}
}
secrets {
EOF
	for c in 1 2 3 4; do
		printf '\tike-cl%s {\n\t\tid = cl%s.test\n\t\tsecret = psk-of-cl%s\n\t}\n' $c $c $c
	done >>"$SW/rs$n/swanctl.conf"
	echo "}" >>"$SW/rs$n/swanctl.conf"
	sw_start "$ns" "rs$n"
done

# Clients: clN, inner address 10.98.N.2, its own PSK.
for n in 1 2 3 4; do
	eval ns=\$NS_CL$n
	name=cl$n
	sw_conf "$name"
	nsx "$ns" ip addr add "10.98.$n.2/32" dev lo
	cat >"$SW/$name/swanctl.conf" <<EOF
connections {
	vpn {
		version = 2
		remote_addrs = $VIP
		$PROPOSALS
		local {
			auth = psk
			id = $name.test
		}
		remote {
			auth = psk
			id = vpn.test
		}
		children {
			net {
				local_ts = 10.98.$n.2/32
				remote_ts = $INNER_RS/32
				$ESP_PROPOSALS
			}
		}
	}
}
secrets {
	ike-$name {
		id = $name.test
		secret = psk-of-$name
	}
}
EOF
	sw_start "$ns" "$name"
done

# The real server (1 or 2) holding client $1's IKE SA, or nothing.
rs_of() {
	for rsn in 1 2; do
		if sw "rs$rsn" --list-sas 2>/dev/null | grep -q "remote *'$1.test'"; then
			echo "$rsn"
			return
		fi
	done
}

# Packets in on the CHILD SA of client $1 at real server $2.
rs_child_in() {
	sw "rs$2" --list-sas --ike-id "$(sw "rs$2" --list-sas | awk -v c="'$1.test'" '
		/^[^ ].*: #[0-9]+,/ { id = $2; sub("#", "", id); sub(",", "", id) }
		$1 == "remote" && $2 == c { print id; exit }')" |
		awk '$1 == "in" { n += $5 } END { print n + 0 }'
}

# ping_through CLIENT_N COUNT: COUNT pings from the client's inner address to
# the real servers' inner address; all must be answered.
ping_through() {
	eval ns=\$NS_CL$1
	nsx "$ns" busybox ping -c "$2" -W 5 -I "10.98.$1.2" "$INNER_RS" >"$SW/ping.out" 2>&1 ||
		fail "cl$1: ping through the tunnel failed: $(tail -2 "$SW/ping.out")"
	grep -q " $2 packets received" "$SW/ping.out" ||
		fail "cl$1: not every ping answered: $(tail -2 "$SW/ping.out")"
}

# bring_up CLIENT_N: initiates the client's CHILD SA (and so its IKE SA).
bring_up() {
	sw "cl$1" --initiate --child net --timeout "$(ts 30)" >"$SW/cl$1/initiate.out" 2>&1 ||
		fail "cl$1: tunnel did not come up: $(tail -5 "$SW/cl$1/initiate.out")"
	sw "cl$1" --list-sas | grep -q "^vpn: #[0-9]*, ESTABLISHED, IKEv2" ||
		fail "cl$1: no established IKE SA: $(sw "cl$1" --list-sas)"
	sw "cl$1" --list-sas | grep -q "net: #[0-9]*, reqid [0-9]*, INSTALLED, TUNNEL" ||
		fail "cl$1: no installed CHILD SA: $(sw "cl$1" --list-sas)"
}

# check_lands CLIENT_N GATE_SOURCE: the client's IKE SA is on exactly one
# real server; the gate's entry for GATE_SOURCE names that server; the
# CHILD SA there counted the client's pings (so its ESP landed there).
check_lands() {
	r=$(rs_of "cl$1")
	[ -n "$r" ] || fail "cl$1: no real server holds its IKE SA"
	o=$((3 - r))
	sw "rs$o" --list-sas | grep -q "remote *'cl$1.test'" && fail "cl$1: both real servers hold an IKE SA"
	eval rip=\$RS$r
	nsx "$NS_DIR" $IPSEC list --entries >"$SW/entries" || fail "ipvs-ipsec list --entries failed"
	awk -v s="$2" -v d="$rip" '$2 == "ESTABLISHED" && $3 == s && $5 == d { ok = 1 } END { exit !ok }' "$SW/entries" ||
		fail "cl$1: no ESTABLISHED entry for $2 towards rs$r ($rip): $(cat "$SW/entries")"
	before=$(rs_child_in "cl$1" "$r")
	ping_through "$1" 3
	after=$(rs_child_in "cl$1" "$r")
	[ "$after" -ge $((before + 3)) ] || fail "cl$1: rs$r's CHILD SA counted $before then $after packets in"
	eval "RS_OF_CL$1=$r"
	info "cl$1 ($2): IKE SA and ESP on rs$r"
}

check_gate_clean() {
	expect_gate_counter esp_no_entry 0
	expect_gate_counter esp_initial 0
	expect_gate_counter initial_cap 0
	expect_gate_counter table_full 0
}

info "1. direct: cl1 and cl2 bring their tunnels up through the gate"
pass0=$(gate_counter esp_pass)
bring_up 1
bring_up 2
ping_through 1 2
ping_through 2 2
check_lands 1 "$CL1"
check_lands 2 "$CL2"
[ "$RS_OF_CL1" != "$RS_OF_CL2" ] || fail "cl1 and cl2 on the same real server (rr, persistence per client)"
sw cl1 --list-sas | grep -q "remote .*@ $VIP\[500\]" || fail "cl1 uses NAT-T without a NAT: $(sw cl1 --list-sas)"
expect_gate_counter established 2
pass1=$(gate_counter esp_pass)
# Each ping is one ESP packet from the client through the gate.
[ "$pass1" -ge $((pass0 + 10)) ] || fail "esp_pass went from $pass0 to $pass1, expected at least 10 more"
check_gate_clean

info "2. behind a NAT: cl3 and cl4 (NAT-T, ESP in UDP 4500)"
bring_up 3
bring_up 4
sw cl3 --list-sas | grep -q "remote .*@ $VIP\[4500\]" || fail "cl3 did not move to NAT-T: $(sw cl3 --list-sas)"
sw cl4 --list-sas | grep -q "remote .*@ $VIP\[4500\]" || fail "cl4 did not move to NAT-T: $(sw cl4 --list-sas)"
ping_through 3 2
ping_through 4 2
check_lands 3 "$NAT_PUB"
check_lands 4 "$NAT_PUB"
r=$RS_OF_CL3
sw "rs$r" --list-sas | grep -q "remote *'cl3.test' @ $NAT_PUB\[4500\]" ||
	fail "rs$r does not see cl3 at $NAT_PUB:4500: $(sw "rs$r" --list-sas)"
# One address, one entry: the NAT's clients share it, and its real server.
[ "$RS_OF_CL3" = "$RS_OF_CL4" ] || fail "cl3 and cl4 (one NAT address) on different real servers"
expect_gate_counter established 3
pass2=$(gate_counter esp_pass)
[ "$pass2" -ge $((pass1 + 10)) ] || fail "esp_pass went from $pass1 to $pass2, expected at least 10 more"
check_gate_clean

info "3. rekey: every client's IKE SA and CHILD SA"
# The client's IKE SPIs (of its one IKE SA), and its CHILD SAs' inbound SPIs.
ike_spis() {
	sw "cl$1" --list-sas | awk '/^vpn: #/ { print $5, $6 }'
}
child_spis() {
	sw "cl$1" --list-sas | awk '$1 == "in" { print $2 }' | tr '\n' ' '
}
ike_rekeyed() { # CLIENT_N IKE0: one IKE SA, not the old one
	[ "$(sw "cl$1" --list-sas | grep -c '^vpn: #')" = 1 ] &&
		sw "cl$1" --list-sas | grep -q '^vpn: #[0-9]*, ESTABLISHED' &&
		[ "$(ike_spis "$1")" != "$2" ]
}
rekeyed() { # CLIENT_N IKE0 CHILD0: one IKE SA, one CHILD SA, neither the old
	[ "$(sw "cl$1" --list-sas | grep -c '^vpn: #[0-9]*, ESTABLISHED')" = 1 ] &&
		[ "$(sw "cl$1" --list-sas | grep -c '^vpn: #')" = 1 ] &&
		[ "$(sw "cl$1" --list-sas | grep -c 'net: #[0-9]*, reqid [0-9]*, INSTALLED')" = 1 ] &&
		[ "$(ike_spis "$1")" != "$2" ] && [ "$(child_spis "$1")" != "$3" ]
}
for n in 1 2 3 4; do
	ike0=$(ike_spis "$n")
	spi0=$(child_spis "$n")
	sw "cl$n" --rekey --ike vpn >"$SW/rekey.out" 2>&1 || fail "cl$n: swanctl --rekey --ike: $(cat "$SW/rekey.out")"
	wait_for "$(ts 20)" ike_rekeyed "$n" "$ike0" ||
		fail "cl$n: IKE SA not rekeyed (SPIs were $ike0): $(sw "cl$n" --list-sas)"
	sw "cl$n" --rekey --child net >"$SW/rekey.out" 2>&1 || fail "cl$n: swanctl --rekey --child: $(cat "$SW/rekey.out")"
	wait_for "$(ts 20)" rekeyed "$n" "$ike0" "$spi0" ||
		fail "cl$n: not rekeyed (IKE SPIs were $ike0, CHILD SPI $spi0): $(sw "cl$n" --list-sas)"
	ping_through "$n" 3
	info "cl$n: IKE SA $ike0 -> $(ike_spis "$n"), CHILD SA in $spi0-> $(child_spis "$n")"
done
# The rekeyed SAs stay on the same real servers.
for n in 1 2 3 4; do
	eval was=\$RS_OF_CL$n
	[ "$(rs_of "cl$n")" = "$was" ] || fail "cl$n: IKE SA moved from rs$was after the rekey"
done
check_lands 1 "$CL1"
check_lands 3 "$NAT_PUB"
expect_gate_counter established 3
check_gate_clean
[ "$(gate_counter established_refresh)" -gt 0 ] || fail "the clients' IKE did not refresh their entries"

nsx "$NS_DIR" $IPSEC list --entries
nsx "$NS_DIR" cat /proc/net/ip_vs_ipsec
info "strongSwan tunnels come up, pass traffic and rekey through the gate"
