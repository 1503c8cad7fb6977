# SPDX-License-Identifier: GPL-2.0
#
# The two-director LVS topology shared by the sync tests and the demo.
#
#   client 10.0.1.2 --- 10.0.1.1 (VIP) dira 10.0.2.1 --- 10.0.2.2 rs
#                                       10.0.3.1
#                                          |  sync LAN (multicast 224.0.0.81:8848)
#                                       10.0.3.2
#                                        dirb
#
# dira is the master director (a NAT virtual service VIP:80 -> rs:80), dirb
# the backup. Namespace names carry a per-run suffix so tests cannot collide.
#
# With SYNC_LAN=bridge the sync LAN is a bridge in its own namespace (lan)
# instead of one veth pair, and a third host, atk (10.0.3.66), sits on it:
# an attacker on the directors' segment.

SUFFIX=${SUFFIX:-$$}
NS_CLIENT=client-$SUFFIX
NS_DIRA=dira-$SUFFIX
NS_DIRB=dirb-$SUFFIX
NS_RS=rs-$SUFFIX
NS_LAN=lan-$SUFFIX
NS_ATK=atk-$SUFFIX
ATK_IP=10.0.3.66
VIP=10.0.1.1
CIP=10.0.1.2
RIP=10.0.2.2
SYNC_IF_A=sync0
SYNC_IF_B=sync0

topology_cleanup() {
	for ns in "$NS_CLIENT" "$NS_DIRA" "$NS_DIRB" "$NS_RS" "$NS_LAN" "$NS_ATK"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

topology_setup() {
	for ns in "$NS_CLIENT" "$NS_DIRA" "$NS_DIRB" "$NS_RS"; do
		ip netns add "$ns" || fail "cannot create netns $ns"
		nsx "$ns" ip link set lo up
	done
	ip link add c0 netns "$NS_CLIENT" type veth peer name a0 netns "$NS_DIRA"
	ip link add a1 netns "$NS_DIRA" type veth peer name r0 netns "$NS_RS"
	if [ "${SYNC_LAN:-}" = bridge ]; then
		sync_lan_bridge
	else
		ip link add "$SYNC_IF_A" netns "$NS_DIRA" type veth peer name "$SYNC_IF_B" netns "$NS_DIRB"
	fi

	nsx "$NS_CLIENT" ip addr add "$CIP/24" dev c0
	nsx "$NS_DIRA" ip addr add "$VIP/24" dev a0
	nsx "$NS_DIRA" ip addr add 10.0.2.1/24 dev a1
	nsx "$NS_DIRA" ip addr add 10.0.3.1/24 dev "$SYNC_IF_A"
	nsx "$NS_DIRB" ip addr add 10.0.3.2/24 dev "$SYNC_IF_B"
	nsx "$NS_RS" ip addr add "$RIP/24" dev r0
	nsx "$NS_CLIENT" ip link set c0 up
	nsx "$NS_DIRA" ip link set a0 up
	nsx "$NS_DIRA" ip link set a1 up
	nsx "$NS_DIRA" ip link set "$SYNC_IF_A" up
	nsx "$NS_DIRB" ip link set "$SYNC_IF_B" up
	nsx "$NS_RS" ip link set r0 up
	nsx "$NS_RS" ip route add default via 10.0.2.1
	nsx "$NS_DIRA" ip route add 224.0.0.0/4 dev "$SYNC_IF_A"
	nsx "$NS_DIRB" ip route add 224.0.0.0/4 dev "$SYNC_IF_B"
	nsx "$NS_DIRA" sysctl -qw net.ipv4.ip_forward=1

	# The real server answers every TCP connection on port 80 with "pong".
	# Not through nsx: a function in the background leaves a subshell that
	# prints "Terminated" when topology_cleanup kills the server.
	ip netns exec "$NS_RS" /usr/bin/python3 "$IPVS_AUTH_TOP/qemu/tools/tcpload.py" server 80 &
	wait_for "$(ts 5)" nsx "$NS_RS" sh -c "ss -ltn | grep -q ':80 '" || fail "real server did not start"

	nsx "$NS_DIRA" ipvsadm -A -t "$VIP:80" -s rr || fail "ipvsadm -A failed"
	nsx "$NS_DIRA" ipvsadm -a -t "$VIP:80" -r "$RIP:80" -m || fail "ipvsadm -a failed"
}

# The sync LAN as a bridge (multicast flooded to every port, no snooping)
# joining dira, dirb and the attacker atk.
sync_lan_bridge() {
	for ns in "$NS_LAN" "$NS_ATK"; do
		ip netns add "$ns" || fail "cannot create netns $ns"
		nsx "$ns" ip link set lo up
	done
	nsx "$NS_LAN" ip link add br0 type bridge mcast_snooping 0
	ip link add "$SYNC_IF_A" netns "$NS_DIRA" type veth peer name pa netns "$NS_LAN"
	ip link add "$SYNC_IF_B" netns "$NS_DIRB" type veth peer name pb netns "$NS_LAN"
	ip link add eth0 netns "$NS_ATK" type veth peer name pc netns "$NS_LAN"
	for port in pa pb pc; do
		nsx "$NS_LAN" ip link set "$port" master br0 up
	done
	nsx "$NS_LAN" ip link set br0 up
	nsx "$NS_ATK" ip addr add "$ATK_IP/24" dev eth0
	nsx "$NS_ATK" ip link set eth0 up
	nsx "$NS_ATK" ip route add 224.0.0.0/4 dev eth0
}

# Starts the sync daemons with the given extra ipvsadm options.
start_sync() {
	nsx "$NS_DIRA" ipvsadm --start-daemon master --mcast-interface "$SYNC_IF_A" --syncid 150 "$@" ||
		fail "cannot start the master sync daemon"
	nsx "$NS_DIRB" ipvsadm --start-daemon backup --mcast-interface "$SYNC_IF_B" --syncid 150 "$@" ||
		fail "cannot start the backup sync daemon"
}

# Opens $1 TCP connections from the client through the VIP; each must get
# the real server's answer.
make_connections() {
	nsx "$NS_CLIENT" /usr/bin/python3 "$IPVS_AUTH_TOP/qemu/tools/tcpload.py" client "$VIP" 80 "$1" ||
		fail "connections through the VIP failed"
}

# churn_start NAME: the churn, in the background: rounds of 3 connections
# through the VIP, a line in $IPVS_AUTH_OUT/NAME.rounds a round, until
# churn_end. A failed connection ends it with status 1 (fail). Sets $churn
# to its pid; churn_rounds counts its rounds so far.
churn_start() {
	churn_stop=$IPVS_AUTH_OUT/$1.stop
	churn_log=$IPVS_AUTH_OUT/$1.rounds
	rm -f "$churn_stop"
	: >"$churn_log"
	(
		while [ ! -e "$churn_stop" ]; do
			# make_connections at nice 10: see 26-module-reload.
			nsx "$NS_CLIENT" nice -n 10 /usr/bin/python3 "$IPVS_AUTH_TOP/qemu/tools/tcpload.py" \
				client "$VIP" 80 3 >/dev/null || exit 1
			echo round >>"$churn_log"
			sleep 0.3
		done
	) &
	churn=$!
}
churn_rounds() {
	wc -l <"$churn_log"
}
# Stops the churn; fails unless every connection of it succeeded.
churn_end() {
	touch "$churn_stop"
	wait "$churn" || fail "the churn failed: a connection through the VIP failed ($1)"
}

# Number of IPVS connection entries from the client in namespace $1.
conn_count() {
	nsx "$1" ipvsadm -Lnc | grep -c " $CIP:"
}

# Waits until the backup lists at least $1 connections from the client.
wait_backup_conns() {
	wait_for "${2:-15}" sh -c "[ \$(ip netns exec $NS_DIRB ipvsadm -Lnc | grep -c ' $CIP:') -ge $1 ]"
}

# Saves the next sync datagram seen on the backup's sync interface to $1,
# making connections until one is captured (the capture socket may start
# after the first message under a slow guest).
capture_sync() {
	capture_sync_n "$1" 1
}

# Saves the next $2 sync datagrams seen on the backup's sync interface to
# $1, making connections until they are captured (IPVS's master sends a
# message when its buffer is full or 1 to 3 s after its first entry).
capture_sync_n() {
	nsx "$NS_DIRB" $SYNCAUTH capture --iface "$SYNC_IF_B" --out "$1" --count "$2" --timeout 60 &
	cap=$!
	tries=0
	while kill -0 "$cap" 2>/dev/null && [ "$tries" -lt 60 ]; do
		make_connections 1 >/dev/null
		sleep 0.5
		tries=$((tries + 1))
	done
	wait "$cap"
}

# Client connections (source address:port) in the IPVS table of namespace $1.
conn_set() {
	nsx "$1" ipvsadm -Lnc | awk -v c="$CIP:" '$4 ~ "^"c {print $4}' | sort -u
}

# make_connections_synced N [SECONDS]: makes N connections and waits up to
# SECONDS (default 15) until the backup lists each of them: the client
# connections the master lists now and did not before. Counts only these,
# so that earlier connections that expired meanwhile (TIME_WAIT's 2
# minutes, which a slow guest's test can outlast) do not count against
# it, as they did in a cumulative count. Fails (status 1) if the master
# lists fewer than N new connections.
make_connections_synced() {
	conn_set "$NS_DIRA" >"$IPVS_AUTH_OUT/conns-before.txt"
	make_connections "$1"
	conn_set "$NS_DIRA" | comm -13 "$IPVS_AUTH_OUT/conns-before.txt" - >"$IPVS_AUTH_OUT/conns-new.txt"
	new=$(wc -l <"$IPVS_AUTH_OUT/conns-new.txt")
	if [ "$new" -lt "$1" ]; then
		echo "# the master lists $new new connections of $1"
		return 1
	fi
	wait_for "${2:-15}" backup_lists_new && return 0
	echo "# $(new_missing_on_backup) of the $new new connections missing on the backup"
	return 1
}

# The connections of make_connections_synced's last call the backup does
# not list: their number, and whether there are none.
new_missing_on_backup() {
	conn_set "$NS_DIRB" | comm -23 "$IPVS_AUTH_OUT/conns-new.txt" - | wc -l
}
backup_lists_new() {
	[ "$(new_missing_on_backup)" = 0 ]
}

# Waits up to $1 seconds until every client connection the master still
# lists is also on the backup. With many connections under a slow guest the
# first ones may reach TIME_WAIT's end (2 min) before the last are made;
# such entries leave the master first (the backup's timer started later),
# so "the master's table is contained in the backup's" still holds.
wait_backup_has_master_conns() {
	i=0
	while [ "$i" -lt "$1" ]; do
		conn_set "$NS_DIRA" >"$IPVS_AUTH_OUT/conns-master.txt"
		conn_set "$NS_DIRB" >"$IPVS_AUTH_OUT/conns-backup.txt"
		missing=$(comm -23 "$IPVS_AUTH_OUT/conns-master.txt" "$IPVS_AUTH_OUT/conns-backup.txt" | wc -l)
		[ "$missing" = 0 ] && return 0
		sleep 1
		i=$((i + 1))
	done
	echo "# $missing of $(wc -l <"$IPVS_AUTH_OUT/conns-master.txt") master connections missing on the backup"
	return 1
}

# A UDP service VIP:5353 on the master whose connections are synced on
# their first datagram and expire $1 seconds after their last one, on the
# master and, through the timeout it syncs, on the backup. Entries that
# expire in seconds let a test watch a replay bring one back.
udp_service() {
	nsx "$NS_DIRA" ipvsadm -A -u "$VIP:5353" -s rr || fail "ipvsadm -A -u failed"
	nsx "$NS_DIRA" ipvsadm -a -u "$VIP:5353" -r "$RIP:5353" -m || fail "ipvsadm -a -u failed"
	nsx "$NS_DIRA" sysctl -qw net.ipv4.vs.sync_threshold="1 50" || fail "cannot set sync_threshold"
	for ns in "$NS_DIRA" "$NS_DIRB"; do
		nsx "$ns" ipvsadm --set 0 0 "$1" || fail "cannot set the UDP timeout"
	done
}

# udp_conns N BASE: N UDP connections through the VIP from the client's
# source ports BASE .. BASE+N-1.
udp_conns() {
	nsx "$NS_CLIENT" /usr/bin/python3 "$IPVS_AUTH_TOP/qemu/tools/udpconns.py" send \
		--src "$CIP" --dst "$VIP" --port 5353 --count "$1" --sport-base "$2" >/dev/null ||
		fail "UDP connections through the VIP failed"
}

# udp_conn_count NS BASE N: UDP entries of namespace NS from the client's
# source ports BASE .. BASE+N-1.
udp_conn_count() {
	nsx "$1" ipvsadm -Lnc | awk -v c="$CIP" -v lo="$2" -v hi="$(($2 + $3))" '
		$1 == "UDP" { split($4, a, ":"); if (a[1] == c && a[2] + 0 >= lo && a[2] + 0 < hi) n++ }
		END { print n + 0 }'
}

# udp_conns_are NS BASE N WANT: whether namespace NS has exactly WANT such
# entries (for wait_for, which runs it in this shell).
udp_conns_are() {
	[ "$(udp_conn_count "$1" "$2" "$3")" = "$4" ]
}

# set_keys KEY: the same seed-format key on the master and the backup.
set_keys() {
	nsx "$NS_DIRA" $SYNCAUTH key set "$1" || fail "cannot set the master's key"
	nsx "$NS_DIRB" $SYNCAUTH key set "$1" || fail "cannot set the backup's key"
}

# Makes $1 connections; fails unless the backup lists them all, has
# accepted authenticated messages and dropped none.
expect_synced_authenticated() {
	make_connections "$1"
	wait_backup_conns "$1" 20 || fail "backup shows $(conn_count "$NS_DIRB") of $1 connections"
	[ "$(counter "$NS_DIRB" rx_accepted)" -gt 0 ] || fail "the backup accepted nothing"
	for c in rx_drop_bad_ttl rx_drop_bad_header rx_drop_replay rx_drop_bad_icv rx_drop_malformed; do
		expect_counter "$NS_DIRB" "$c" 0
	done
}

# Waits up to 15 s for the backup's rx_accepted to exceed $1.
wait_accepted_above() {
	wait_for 15 sh -c "[ \$(ip netns exec $NS_DIRB $SYNCAUTH counter rx_accepted) -gt $1 ]"
}
