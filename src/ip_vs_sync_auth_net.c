// SPDX-License-Identifier: GPL-2.0
/*
 * ip_vs_sync_auth: packet mechanics of authenticated IPVS sync.
 *
 * IPVS exports none of its sync code, so the module works on the wire:
 *
 *  - master, NF_INET_LOCAL_OUT: a datagram sent by IPVS's own sync socket
 *    (a kernel socket, connected to the master's group and one of its
 *    ports, sending from a kernel thread) gets the 16-byte auth header and
 *    TTL / hop limit 255;
 *  - backup, NF_INET_LOCAL_IN: a datagram to the backup's group and any
 *    port IPVS could receive sync on is verified and stripped, so that IPVS
 *    receives the byte-identical plaintext message, or dropped and counted.
 *
 * Both work whenever a key is set, whether or not IPVS's daemon state says
 * the daemon runs: IPVS opens its sockets before it sets that state and
 * clears it before its threads stop, and no datagram may pass unverified
 * or unsigned in between.
 *
 * This file only locates headers, makes the skb writable, and fixes lengths
 * and checksums. What to do with a message is decided in Rust
 * (src/glue/sync.rs, through the ipvsa_rs_*() functions), which also owns
 * the per-netns state: key, sequence numbers, replay state and counters.
 */

#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/sockptr.h>
#include <linux/string.h>
#include <linux/udp.h>
#include <net/gso.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ip_vs.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>
#include <net/netns/generic.h>
#include <net/sock.h>

#include "ip_vs_sync_auth_shim.h"

/* LOCAL_IN: before the filter table, so firewall rules see the plaintext. */
#define IPVSA_PRI_IN (NF_IP_PRI_MANGLE + 1)
/* LOCAL_OUT: after filter and security, on the message as IPVS built it. */
#define IPVSA_PRI_OUT (NF_IP_PRI_NAT_SRC + 1)

/**
 * struct ipvsa_net - per network namespace state of the C side
 * @rs: the Rust state (ipvsa_rs_net_init())
 * @defrag6: whether we enabled IPv6 defragmentation in this netns
 * @cfg_mutex: serialises this namespace's configuration changes (key,
 *	IPv6 defrag); per namespace, so that a key change that waits for an
 *	RCU grace period never holds up another namespace's
 */
struct ipvsa_net {
	void *rs;
	bool defrag6;
	struct mutex cfg_mutex;
};

static unsigned int ipvsa_net_id __read_mostly;

static const char *const ipvsa_counter_names[IPVSA_CNT_MAX] = {
	[IPVSA_CNT_TX_SIGNED] = "tx_signed",
	[IPVSA_CNT_TX_ERROR] = "tx_error",
	[IPVSA_CNT_RX_ACCEPTED] = "rx_accepted",
	[IPVSA_CNT_RX_MALFORMED] = "rx_drop_malformed",
	[IPVSA_CNT_RX_BAD_TTL] = "rx_drop_bad_ttl",
	[IPVSA_CNT_RX_BAD_HEADER] = "rx_drop_bad_header",
	[IPVSA_CNT_RX_REPLAY] = "rx_drop_replay",
	[IPVSA_CNT_RX_BAD_ICV] = "rx_drop_bad_icv",
	[IPVSA_CNT_RX_NO_STREAM] = "rx_drop_no_stream",
	[IPVSA_CNT_RX_NO_KEY] = "rx_drop_no_key",
	[IPVSA_CNT_RX_GRO_SPLIT] = "rx_gro_split",
};

/**
 * struct ipvsa_pkt - where a sync datagram's UDP header is
 * @thoff: offset of the UDP header from skb->data (the network header)
 * @stream: destination port minus the base port (the master's sync thread)
 * @v6: IPv6 datagram
 */
struct ipvsa_pkt {
	unsigned int thoff;
	u32 stream;
	bool v6;
};

enum ipvsa_match {
	IPVSA_NOT_SYNC,		/* not for the sync daemon: leave alone */
	IPVSA_SYNC,		/* a sync datagram, @pkt filled in */
	IPVSA_SYNC_BAD,		/* addressed to the sync daemon, unusable */
};

/*
 * Is this datagram addressed to the group of @cfg and a port from its base
 * port to base + @threads_mask? Reads the IPVS daemon configuration without
 * its mutex: a datagram racing with a daemon start or stop may be
 * classified with the old or the new settings, never with a mix that
 * matters (each field is read once). IPVS writes the configuration before
 * it opens its sockets and keeps it after it closes them.
 */
static enum ipvsa_match ipvsa_classify(struct sk_buff *skb, u8 pf,
				       const struct ipvs_sync_daemon_cfg *cfg,
				       int threads_mask, struct ipvsa_pkt *pkt)
{
	const struct udphdr *uh;
	struct udphdr _uh;
	u16 port, base;

	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		if (READ_ONCE(cfg->mcast_af) != AF_INET ||
		    iph->daddr != READ_ONCE(cfg->mcast_group.ip) ||
		    iph->protocol != IPPROTO_UDP)
			return IPVSA_NOT_SYNC;
		/* LOCAL_IN runs after reassembly, LOCAL_OUT before fragmentation. */
		if (ip_is_fragment(iph))
			return IPVSA_SYNC_BAD;
		pkt->thoff = skb_network_offset(skb) + ip_hdrlen(skb);
		pkt->v6 = false;
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		unsigned int off = 0;

		if (READ_ONCE(cfg->mcast_af) != AF_INET6 ||
		    !ipv6_addr_equal(&ip6h->daddr, &cfg->mcast_group.in6))
			return IPVSA_NOT_SYNC;
		/*
		 * Fragments to the sync group never reach UDP unverified: IPv6
		 * defragmentation is on while a key is set, so a fragment here
		 * is one that could not be reassembled.
		 */
		if (ipv6_find_hdr(skb, &off, NEXTHDR_FRAGMENT, NULL, NULL) >= 0)
			return IPVSA_SYNC_BAD;
		off = 0;
		if (ipv6_find_hdr(skb, &off, IPPROTO_UDP, NULL, NULL) != IPPROTO_UDP)
			return IPVSA_NOT_SYNC;
		pkt->thoff = off;
		pkt->v6 = true;
	}

	uh = skb_header_pointer(skb, pkt->thoff, sizeof(_uh), &_uh);
	if (!uh)
		return IPVSA_SYNC_BAD;
	port = ntohs(uh->dest);
	base = READ_ONCE(cfg->mcast_port);
	if (port < base || port - base > (u32)threads_mask)
		return IPVSA_NOT_SYNC;
	pkt->stream = port - base;
	return IPVSA_SYNC;
}

/*
 * Master: is @skb a datagram of one of IPVS's own sync sockets? Those are
 * kernel sockets, connected to the master's group and one of its ports,
 * sending from a kernel thread (make_send_sock() in ip_vs_sync.c). Any
 * other sender, a user process or another kernel user of UDP that a user
 * might drive, is never signed: signing it would hand out the key.
 */
static bool ipvsa_own_sync_sock(const struct sk_buff *skb, u8 pf,
				const struct ipvsa_pkt *pkt)
{
	const struct sock *sk = skb->sk;
	const struct udphdr *uh;
	struct udphdr _uh;

	if (!sk || !sk_fullsock(sk) || !sk->sk_kern_sock ||
	    !(current->flags & PF_KTHREAD) || sk->sk_protocol != IPPROTO_UDP ||
	    READ_ONCE(sk->sk_state) != TCP_ESTABLISHED)
		return false;
	/* Where the socket is connected is where IPVS's sync goes. */
	uh = skb_header_pointer(skb, pkt->thoff, sizeof(_uh), &_uh);
	if (!uh || uh->dest != inet_sk(sk)->inet_dport)
		return false;
	if (pf == NFPROTO_IPV4)
		return sk->sk_family == AF_INET &&
		       inet_sk(sk)->inet_daddr == ip_hdr(skb)->daddr;
#if IS_ENABLED(CONFIG_IPV6)
	return sk->sk_family == AF_INET6 &&
	       ipv6_addr_equal(&sk->sk_v6_daddr, &ipv6_hdr(skb)->daddr);
#else
	return false;
#endif
}

/* Makes the whole datagram linear and writable; returns its UDP header. */
static struct udphdr *ipvsa_writable(struct sk_buff *skb,
				     const struct ipvsa_pkt *pkt,
				     unsigned int *ulen)
{
	struct udphdr *uh;

	if (skb_is_gso(skb) || skb_ensure_writable(skb, skb->len))
		return NULL;
	if (pkt->thoff + sizeof(*uh) > skb->len)
		return NULL;
	uh = (struct udphdr *)(skb->data + pkt->thoff);
	*ulen = ntohs(uh->len);
	if (*ulen < sizeof(*uh) || pkt->thoff + *ulen > skb->len)
		return NULL;
	return uh;
}

/*
 * Bytes at the front of the UDP payload whose one's-complement sum the
 * paths take before and after the change. The master changes at most the
 * first 8 (the IPVS header) and inserts its auth header after them; the
 * backup changes at most the first 32 (auth header and IPVS header) and
 * the plaintext then starts @off bytes in. Every other byte stays, or moves
 * by an even number of bytes, so it adds the same to the sum.
 */
#define IPVSA_TX_CSUM_FRONT 8
#define IPVSA_RX_CSUM_FRONT 32

/*
 * After the payload changed length: set the UDP and IP lengths and the IP
 * header checksum for a datagram of @ulen UDP bytes ending the skb, and
 * update the UDP checksum instead of summing the datagram again: @diff is
 * the one's-complement difference of the payload's sum (see
 * IPVSA_*_CSUM_FRONT). A partial checksum (the device or the stack sums
 * the datagram later) gets the new pseudo-header; a full one is updated
 * for the payload and the two length fields, so it stays valid exactly if
 * it was; an IPv4 datagram without a checksum (0) stays without. An IPv6
 * datagram with a zero checksum (invalid) gets a full one.
 */
static void ipvsa_finish(struct sk_buff *skb, const struct ipvsa_pkt *pkt,
			 unsigned int ulen, bool set_ttl, __wsum diff)
{
	struct udphdr *uh = (struct udphdr *)(skb->data + pkt->thoff);
	__be16 old_len = uh->len, new_len = htons(ulen);
	struct ipv6hdr *ip6h = NULL;
	struct iphdr *iph = NULL;

	uh->len = new_len;
	if (pkt->v6) {
		ip6h = ipv6_hdr(skb);
		if (set_ttl)
			ip6h->hop_limit = 255;
		ip6h->payload_len = htons(skb->len - skb_network_offset(skb) -
					  sizeof(*ip6h));
	} else {
		iph = ip_hdr(skb);
		if (set_ttl)
			iph->ttl = 255;
		iph->tot_len = htons(skb->len - skb_network_offset(skb));
		ip_send_check(iph);
	}

	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		uh->check = ip6h ? ~csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr,
						    ulen, IPPROTO_UDP, 0) :
				   ~csum_tcpudp_magic(iph->saddr, iph->daddr,
						      ulen, IPPROTO_UDP, 0);
		return;
	}
	if (!uh->check && iph)
		return;
	if (!uh->check) {
		uh->check = csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, ulen,
					    IPPROTO_UDP,
					    skb_checksum(skb, pkt->thoff, ulen, 0));
	} else {
		/* The length is in the UDP header and in the pseudo-header. */
		csum_replace2(&uh->check, old_len, new_len);
		csum_replace2(&uh->check, old_len, new_len);
		csum_replace_by_diff(&uh->check, diff);
	}
	if (!uh->check)
		uh->check = CSUM_MANGLED_0;
}

/*
 * The longest UDP payload a datagram whose UDP header is at @pkt->thoff can
 * carry: the IPv4 total length and the IPv6 payload length (which counts
 * extension headers) are 16 bits, as is the UDP length.
 */
static unsigned int ipvsa_max_payload(const struct sk_buff *skb,
				      const struct ipvsa_pkt *pkt)
{
	unsigned int hdrs = pkt->thoff - skb_network_offset(skb);

	if (pkt->v6)
		hdrs -= min_t(unsigned int, hdrs, sizeof(struct ipv6hdr));
	return 0xffff - min_t(unsigned int, hdrs, 0xffff - sizeof(struct udphdr)) -
	       sizeof(struct udphdr);
}

/*
 * Master: authenticate one classified sync datagram in place (auth header,
 * TTL 255, lengths, checksum) if it is a message of IPVS's configured
 * @version and @syncid. Returns the netfilter verdict.
 */
static unsigned int ipvsa_tx_skb(void *rs, struct sk_buff *skb,
				 const struct ipvsa_pkt *pkt, u8 version,
				 u8 syncid)
{
	unsigned int ulen, room, plen, front;
	__wsum old_sum, new_sum;
	struct udphdr *uh;
	int ret;

	uh = ipvsa_writable(skb, pkt, &ulen);
	if (!uh || pkt->thoff + ulen != skb->len)
		goto error;
	/*
	 * Room for either header (seed: 16 bytes, extended: 24), and if the
	 * tailroom has it (IPVS's buffers do), for the one-update MAC too.
	 */
	if (skb_tailroom(skb) < IPVSA_AUTH_HDR_MAX &&
	    pskb_expand_head(skb, 0, IPVSA_AUTH_HDR_MAX, GFP_ATOMIC))
		goto error;
	room = min_t(unsigned int, skb_tailroom(skb),
		     IPVSA_AUTH_HDR_MAX + IPVSA_MAC_ROOM);
	skb_put(skb, room);
	uh = (struct udphdr *)(skb->data + pkt->thoff);
	plen = ulen - sizeof(*uh);
	front = min_t(unsigned int, plen, IPVSA_TX_CSUM_FRONT);
	old_sum = csum_partial(uh + 1, front, 0);
	ret = ipvsa_rs_tx(rs, (u8 *)(uh + 1), plen, room, pkt->stream, version,
			  syncid, ipvsa_max_payload(skb, pkt));
	if (ret < 0)
		return NF_DROP;	/* counted by Rust: fail closed */
	if (ret > plen + room)
		goto error;	/* cannot happen: Rust wrote within the room */
	skb_trim(skb, pkt->thoff + sizeof(*uh) + ret);
	if (ret == plen)
		return NF_ACCEPT;	/* key cleared meanwhile: as IPVS built it */
	if (ret < plen)
		goto error;	/* cannot happen: Rust inserts a header */
	/* The auth header went in after the first @front bytes or fewer. */
	new_sum = csum_partial(uh + 1, front + ret - plen, 0);
	ipvsa_finish(skb, pkt, ret + sizeof(*uh), true, csum_sub(new_sum, old_sum));
	return NF_ACCEPT;

error:
	ipvsa_rs_count(rs, IPVSA_CNT_TX_ERROR);
	return NF_DROP;
}

/*
 * Backup: verify and strip one classified sync datagram in place; IPVS
 * takes plaintext of at most @maxlen bytes and runs @threads sync threads.
 * Returns the netfilter verdict.
 */
static unsigned int ipvsa_rx_skb(void *rs, struct sk_buff *skb,
				 const struct ipvsa_pkt *pkt, u32 maxlen,
				 u32 threads)
{
	unsigned int ulen, room, plen, front;
	__wsum old_sum, new_sum;
	struct udphdr *uh;
	u8 ttl;
	int ret;

	uh = ipvsa_writable(skb, pkt, &ulen);
	if (!uh)
		goto malformed;
	ttl = pkt->v6 ? ipv6_hdr(skb)->hop_limit : ip_hdr(skb)->ttl;
	/*
	 * Scratch after the datagram for the one-update MAC: link padding,
	 * and the tailroom unless the data is shared with a clone.
	 */
	room = skb->len - pkt->thoff - ulen;
	if (!skb_cloned(skb))
		room += skb_tailroom(skb);
	room = min_t(unsigned int, room, IPVSA_MAC_ROOM);
	plen = ulen - sizeof(*uh);
	front = min_t(unsigned int, plen, IPVSA_RX_CSUM_FRONT);
	old_sum = csum_partial(uh + 1, front, 0);
	ret = ipvsa_rs_rx(rs, (u8 *)(uh + 1), plen, room, ttl, maxlen, threads);
	if (ret < 0)
		return NF_DROP;	/* counted by Rust */
	if (ret == 0)
		return NF_ACCEPT;	/* key cleared meanwhile: untouched */
	if (ret >= front)
		goto malformed;	/* cannot happen: Rust strips a header */
	/* The plaintext starts @ret bytes in; the bytes before it go. */
	new_sum = csum_partial((u8 *)(uh + 1) + ret, front - ret, 0);
	/*
	 * Rust moved the IPVS header up over the auth header: the plaintext
	 * starts @ret bytes into the payload. Move the network and UDP
	 * headers up by as much and pull, as IPsec transport mode removes an
	 * ESP header, so that the entries stay where they are. Also drops any
	 * bytes after the UDP datagram (link padding).
	 */
	skb_trim(skb, pkt->thoff + ulen);
	memmove(skb->data + ret, skb->data, pkt->thoff + sizeof(*uh));
	__skb_pull(skb, ret);
	skb->network_header += ret;
	skb->transport_header += ret;
	if (skb_mac_header_was_set(skb)) {
		memmove(skb_mac_header(skb) + ret, skb_mac_header(skb),
			skb->mac_len);
		skb->mac_header += ret;
	}
	ulen -= ret;
	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		/* From a local sender: the checksum is still to be summed. */
		skb->csum_start += ret;
		ipvsa_finish(skb, pkt, ulen, false, 0);
		return NF_ACCEPT;
	}
	ipvsa_finish(skb, pkt, ulen, false, csum_sub(new_sum, old_sum));
	/*
	 * The ICV covered every byte of the payload; the checksum, updated
	 * above, is still right if it was (IPVS's socket does not check it).
	 */
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	skb->csum_level = 0;
	return NF_ACCEPT;

malformed:
	ipvsa_rs_count(rs, IPVSA_CNT_RX_MALFORMED);
	return NF_DROP;
}

/*
 * Backup: a burst of sync datagrams that GRO merged into one skb (a device
 * with rx-udp-gro-forwarding or rx-gro-list, a veth with GRO on). IPVS's
 * socket would split it (udp_rcv_segment()); the module splits it here,
 * before anything is delivered, and sends each datagram through the
 * LOCAL_IN hooks again on its own, where this hook checks it like any
 * other (IPVS likewise runs the LOCAL_OUT hooks again for what it sends,
 * and nf_queue splits GSO packets at any hook). Hooks in front of this one
 * (mangle INPUT) see the datagrams once merged and once each. The merged
 * skb is consumed.
 */
static unsigned int ipvsa_rx_gso(void *rs, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct sk_buff *segs, *seg, *next;

	segs = skb_gso_segment(skb, 0);
	if (IS_ERR_OR_NULL(segs)) {
		ipvsa_rs_count(rs, IPVSA_CNT_RX_MALFORMED);
		return NF_DROP;
	}
	ipvsa_rs_count(rs, IPVSA_CNT_RX_GRO_SPLIT);
	consume_skb(skb);
	skb_list_walk_safe(segs, seg, next) {
		skb_mark_not_on_list(seg);
		NF_HOOK(state->pf, NF_INET_LOCAL_IN, state->net, state->sk, seg,
			state->in, state->out, state->okfn);
	}
	return NF_STOLEN;
}

/*
 * Master: authenticate what IPVS's sync threads send, whether or not IPVS
 * still (or already) marks the master daemon as running: a thread may be
 * sending its last message while the daemon stops.
 */
static unsigned int ipvsa_out_hook(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	struct ipvsa_net *pn = net_generic(state->net, ipvsa_net_id);
	struct netns_ipvs *ipvs = net_ipvs(state->net);
	struct ipvsa_pkt pkt;

	/*
	 * At LOCAL_OUT skb->sk may be a request or timewait mini-socket (TCP
	 * SYN-ACKs, resets): only a full socket has sk_kern_sock.
	 */
	if (!ipvs || !pn->rs || !ipvsa_rs_enabled(pn->rs) || !skb->sk ||
	    !sk_fullsock(skb->sk) || !skb->sk->sk_kern_sock)
		return NF_ACCEPT;
	if (ipvsa_classify(skb, state->pf, &ipvs->mcfg,
			   READ_ONCE(ipvs->threads_mask), &pkt) != IPVSA_SYNC ||
	    !ipvsa_own_sync_sock(skb, state->pf, &pkt))
		return NF_ACCEPT;
	if (ipvsa_tx_skb(pn->rs, skb, &pkt, READ_ONCE(ipvs->sysctl_sync_ver),
			 READ_ONCE(ipvs->mcfg.syncid)) == NF_ACCEPT)
		return NF_ACCEPT;
	/*
	 * Counted. Dropped quietly: with NF_DROP, IPVS's sendmsg() would fail
	 * and IPVS log an error for every message (ip_vs_send_sync_msg()).
	 */
	kfree_skb_reason(skb, SKB_DROP_REASON_NETFILTER_DROP);
	return NF_STOLEN;
}

/*
 * Backup: verify and strip before IPVS's receiver sees the message. With
 * a key set, every datagram to the backup's group and any port IPVS could
 * receive sync on is checked, whatever IPVS's daemon state says: IPVS
 * opens its receive sockets before it marks the backup daemon running and
 * unmarks it before its threads stop reading.
 */
static unsigned int ipvsa_in_hook(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	struct ipvsa_net *pn = net_generic(state->net, ipvsa_net_id);
	struct netns_ipvs *ipvs = net_ipvs(state->net);
	struct ipvsa_pkt pkt;

	if (!ipvs || !pn->rs || !ipvsa_rs_enabled(pn->rs))
		return NF_ACCEPT;
	switch (ipvsa_classify(skb, state->pf, &ipvs->bcfg,
			       IPVS_SYNC_PORTS_MAX - 1, &pkt)) {
	case IPVSA_NOT_SYNC:
		return NF_ACCEPT;
	case IPVSA_SYNC_BAD:
		ipvsa_rs_count(pn->rs, IPVSA_CNT_RX_MALFORMED);
		return NF_DROP;
	case IPVSA_SYNC:
		break;
	}
	if (skb_is_gso(skb))
		return ipvsa_rx_gso(pn->rs, skb, state);
	return ipvsa_rx_skb(pn->rs, skb, &pkt, READ_ONCE(ipvs->bcfg.sync_maxlen),
			    READ_ONCE(ipvs->threads_mask) + 1);
}

static const struct nf_hook_ops ipvsa_hook_ops[] = {
	{
		.hook = ipvsa_out_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = IPVSA_PRI_OUT,
	},
	{
		.hook = ipvsa_in_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = IPVSA_PRI_IN,
	},
	{
		.hook = ipvsa_out_hook,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = IPVSA_PRI_OUT,
	},
	{
		.hook = ipvsa_in_hook,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = IPVSA_PRI_IN,
	},
};

static int ipvsa_proc_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct ipvsa_net *pn = net_generic(net, ipvsa_net_id);
	struct ipvsa_status st = {};
	int i;

	ipvsa_rs_status(pn->rs, &st);
	seq_printf(seq, "enabled: %u\n", st.enabled);
	seq_printf(seq, "algorithm: %s\n", st.enabled ? st.alg : "none");
	seq_printf(seq, "streams: %u/%u\n", st.streams, st.stream_capacity);
	for (i = 0; i < IPVSA_CNT_MAX; i++)
		seq_printf(seq, "%s: %llu\n", ipvsa_counter_names[i],
			   st.counters[i]);
	return 0;
}

/* IPv6 sync fragments must be reassembled before LOCAL_IN. Under the mutex. */
static int ipvsa_need_defrag6(struct net *net, struct ipvsa_net *pn)
{
	int ret;

	if (pn->defrag6)
		return 0;
	ret = nf_defrag_ipv6_enable(net);
	if (!ret)
		pn->defrag6 = true;
	return ret;
}

/* setsockopt(IPVSA_SO_SYNC_EXT): one extended-format command. */
static int ipvsa_set_ext(struct net *net, struct ipvsa_net *pn, sockptr_t arg,
			 unsigned int len)
{
	struct ipvsa_ext_cmd cmd;
	int ret;

	if (len != sizeof(cmd))
		return -EINVAL;
	if (copy_from_sockptr(&cmd, arg, sizeof(cmd))) {
		ret = -EFAULT;
		goto out;
	}
	if (cmd.keylen > IPVSA_KEY_MAX) {
		ret = -EINVAL;
		goto out;
	}
	mutex_lock(&pn->cfg_mutex);
	ret = 0;
	if (cmd.op == IPVSA_EXT_ADD)
		ret = ipvsa_need_defrag6(net, pn);
	if (!ret)
		ret = ipvsa_rs_ext_cmd(pn->rs, cmd.op, cmd.id, cmd.key, cmd.keylen);
	mutex_unlock(&pn->cfg_mutex);
out:
	memzero_explicit(&cmd, sizeof(cmd));
	return ret;
}

static int ipvsa_set_ctl(struct sock *sk, int optval, sockptr_t arg,
			 unsigned int len)
{
	struct net *net = sock_net(sk);
	struct ipvsa_net *pn = net_generic(net, ipvsa_net_id);
	u8 key[IPVSA_KEY_MAX];
	int ret;

	if (!ns_capable(net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	if (optval == IPVSA_SO_IPSEC) {
		struct ipvsa_ipsec_cmd cmd;

		if (len != sizeof(cmd))
			return -EINVAL;
		if (copy_from_sockptr(&cmd, arg, sizeof(cmd)))
			return -EFAULT;
		return ipvsa_ipsec_set(net, &cmd, len);
	}
	if (optval == IPVSA_SO_SYNC_EXT)
		return ipvsa_set_ext(net, pn, arg, len);
	if (optval != IPVSA_SO_SYNC_AUTH || len > IPVSA_KEY_MAX)
		return -EINVAL;
	if (len && copy_from_sockptr(key, arg, len)) {
		ret = -EFAULT;
		goto out;
	}

	mutex_lock(&pn->cfg_mutex);
	if (len) {
		ret = ipvsa_need_defrag6(net, pn);
		if (ret)
			goto unlock;
	}
	ret = ipvsa_rs_set_key(pn->rs, key, len);
	if (!ret && !len && pn->defrag6 && !ipvsa_rs_enabled(pn->rs)) {
		nf_defrag_ipv6_disable(net);
		pn->defrag6 = false;
	}
unlock:
	mutex_unlock(&pn->cfg_mutex);
out:
	memzero_explicit(key, sizeof(key));
	return ret;
}

static int ipvsa_get_ctl(struct sock *sk, int optval, void __user *user,
			 int *len)
{
	struct net *net = sock_net(sk);
	struct ipvsa_net *pn = net_generic(net, ipvsa_net_id);
	struct ipvsa_status st = {};
	unsigned int n;

	if (!ns_capable(net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	if (optval == IPVSA_SO_IPSEC) {
		struct ipvsa_ipsec_status *ist;
		int ret = 0;

		if (*len < (int)sizeof(*ist))
			return -EINVAL;
		ist = kmalloc(sizeof(*ist), GFP_KERNEL);
		if (!ist)
			return -ENOMEM;
		ipvsa_ipsec_get(net, ist);
		if (copy_to_user(user, ist, sizeof(*ist)))
			ret = -EFAULT;
		else
			*len = sizeof(*ist);
		kfree(ist);
		return ret;
	}
	if (optval == IPVSA_SO_SYNC_EXT) {
		struct ipvsa_ext_status est = {};

		if (*len < (int)sizeof(est))
			return -EINVAL;
		ipvsa_rs_ext_status(pn->rs, &est);
		if (copy_to_user(user, &est, sizeof(est)))
			return -EFAULT;
		*len = sizeof(est);
		return 0;
	}
	/* A version 1 reader's buffer ends after its nine counters. */
	if (optval != IPVSA_SO_SYNC_AUTH ||
	    *len < (int)offsetof(struct ipvsa_status, counters[IPVSA_CNT_MAX_V1]))
		return -EINVAL;
	ipvsa_rs_status(pn->rs, &st);
	n = min_t(unsigned int, *len, sizeof(st));
	if (copy_to_user(user, &st, n))
		return -EFAULT;
	*len = n;
	return 0;
}

static struct nf_sockopt_ops ipvsa_sockopts = {
	.pf = PF_INET,
	.set_optmin = IPVSA_SO_SYNC_AUTH,
	.set_optmax = IPVSA_SO_SYNC_EXT + 1,
	.set = ipvsa_set_ctl,
	.get_optmin = IPVSA_SO_SYNC_AUTH,
	.get_optmax = IPVSA_SO_SYNC_EXT + 1,
	.get = ipvsa_get_ctl,
	.owner = THIS_MODULE,
};

static int __net_init ipvsa_net_init(struct net *net)
{
	struct ipvsa_net *pn = net_generic(net, ipvsa_net_id);
	int err;

	mutex_init(&pn->cfg_mutex);
	pn->rs = ipvsa_rs_net_init();
	if (!pn->rs)
		return -ENOMEM;
	err = nf_register_net_hooks(net, ipvsa_hook_ops,
				    ARRAY_SIZE(ipvsa_hook_ops));
	if (err)
		goto free;
	if (!proc_create_net_single("ip_vs_sync_auth", 0444, net->proc_net,
				    ipvsa_proc_show, NULL)) {
		err = -ENOMEM;
		goto hooks;
	}
	return 0;

hooks:
	nf_unregister_net_hooks(net, ipvsa_hook_ops, ARRAY_SIZE(ipvsa_hook_ops));
free:
	ipvsa_rs_net_exit(pn->rs);
	pn->rs = NULL;
	return err;
}

static void __net_exit ipvsa_net_exit(struct net *net)
{
	struct ipvsa_net *pn = net_generic(net, ipvsa_net_id);

	remove_proc_entry("ip_vs_sync_auth", net->proc_net);
	/* Waits for hooks in flight: nobody uses pn->rs afterwards. */
	nf_unregister_net_hooks(net, ipvsa_hook_ops, ARRAY_SIZE(ipvsa_hook_ops));
	if (pn->defrag6)
		nf_defrag_ipv6_disable(net);
	pn->defrag6 = false;
	ipvsa_rs_net_exit(pn->rs);
	pn->rs = NULL;
}

static struct pernet_operations ipvsa_net_ops = {
	.init = ipvsa_net_init,
	.exit = ipvsa_net_exit,
	.id = &ipvsa_net_id,
	.size = sizeof(struct ipvsa_net),
};

int ipvsa_sync_register(void)
{
	int err;

	err = register_pernet_subsys(&ipvsa_net_ops);
	if (err)
		return err;
	err = nf_register_sockopt(&ipvsa_sockopts);
	if (err)
		unregister_pernet_subsys(&ipvsa_net_ops);
	return err;
}

void ipvsa_sync_unregister(void)
{
	nf_unregister_sockopt(&ipvsa_sockopts);
	unregister_pernet_subsys(&ipvsa_net_ops);
}

const u8 ipvsa_test_mac[ETH_HLEN] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2,
				     0x08, 0x00 };

struct sk_buff *ipvsa_test_ip4_skb(const struct ipvsa_test_ip4 *d,
				   const u8 *payload, u32 len)
{
	unsigned int hdrs = sizeof(struct iphdr);
	struct sk_buff *skb;
	struct iphdr *iph;

	if (d->protocol == IPPROTO_UDP)
		hdrs += sizeof(struct udphdr);
	skb = alloc_skb(LL_MAX_HEADER + ETH_HLEN + hdrs + len, GFP_KERNEL);
	if (!skb)
		return NULL;
	skb_reserve(skb, LL_MAX_HEADER);
	skb_reset_mac_header(skb);
	skb_put_data(skb, ipvsa_test_mac, ETH_HLEN);
	skb->mac_len = ETH_HLEN;
	__skb_pull(skb, ETH_HLEN);
	skb_reset_network_header(skb);
	iph = skb_put_zero(skb, sizeof(*iph));
	iph->version = 4;
	iph->ihl = 5;
	iph->ttl = d->ttl;
	iph->protocol = d->protocol;
	iph->saddr = d->saddr;
	iph->daddr = d->daddr;
	skb_set_transport_header(skb, sizeof(*iph));
	if (d->protocol == IPPROTO_UDP) {
		struct udphdr *uh = skb_put_zero(skb, sizeof(*uh));

		uh->source = d->sport;
		uh->dest = d->dport;
		uh->len = htons(d->udp_len);
	}
	if (d->paged) {
		struct page *page = alloc_page(GFP_KERNEL);

		if (!page || len > PAGE_SIZE) {
			if (page)
				__free_page(page);
			kfree_skb(skb);
			return NULL;
		}
		memcpy(page_address(page), payload, len);
		skb_add_rx_frag(skb, 0, page, 0, len, PAGE_SIZE);
	} else {
		skb_put_data(skb, payload, len);
	}
	iph->tot_len = htons(skb->len);
	ip_send_check(iph);
	if (d->protocol == IPPROTO_UDP && d->udp_csum != IPVSA_TEST_CSUM_ZERO) {
		struct udphdr *uh = udp_hdr(skb);
		unsigned int n = skb->len - sizeof(*iph);

		if (d->udp_csum == IPVSA_TEST_CSUM_PARTIAL) {
			skb->ip_summed = CHECKSUM_PARTIAL;
			skb->csum_start = skb_transport_header(skb) - skb->head;
			skb->csum_offset = offsetof(struct udphdr, check);
			uh->check = ~csum_tcpudp_magic(d->saddr, d->daddr, n,
						       IPPROTO_UDP, 0);
		} else {
			uh->check = csum_tcpudp_magic(d->saddr, d->daddr, n,
						      IPPROTO_UDP,
						      skb_checksum(skb, sizeof(*iph), n, 0));
			if (!uh->check)
				uh->check = CSUM_MANGLED_0;
		}
	}
	return skb;
}

/*
 * A sync datagram from 10.0.3.1 to 224.0.0.81:8848 with TTL 255 carrying
 * @msg in layout @kind (IPVSA_TEST_SKB_*).
 */
static struct sk_buff *ipvsa_build_skb(u32 kind, const u8 *msg, u32 len)
{
	u32 layout = kind & ~(IPVSA_TEST_SKB_CSUM_ZERO | IPVSA_TEST_SKB_CSUM_PARTIAL);
	const struct ipvsa_test_ip4 d = {
		.saddr = htonl(0x0a000301),	/* 10.0.3.1 */
		.daddr = htonl(0xe0000051),	/* 224.0.0.81 */
		.ttl = 255,
		.protocol = IPPROTO_UDP,
		.sport = htons(8848),
		.dport = htons(8848),
		.udp_len = sizeof(struct udphdr) + len, /* SHORT: more than is there */
		.paged = layout == IPVSA_TEST_SKB_PAGED,
		.udp_csum = kind & IPVSA_TEST_SKB_CSUM_ZERO ? IPVSA_TEST_CSUM_ZERO :
			    kind & IPVSA_TEST_SKB_CSUM_PARTIAL ? IPVSA_TEST_CSUM_PARTIAL :
			    IPVSA_TEST_CSUM_FULL,
	};

	return ipvsa_test_ip4_skb(&d, msg,
				  layout == IPVSA_TEST_SKB_SHORT ? len / 2 : len);
}

u64 ipvsa_bench_skb(void *rs, bool tx, const u8 *msg, u32 len,
		    bool *accepted)
{
	const struct ipvsa_pkt pkt = { .thoff = sizeof(struct iphdr) };
	struct sk_buff *skb = ipvsa_build_skb(IPVSA_TEST_SKB_LINEAR, msg, len);
	unsigned int verdict = NF_ACCEPT;
	u64 t0, t1;

	*accepted = false;
	if (!skb)
		return 0;
	t0 = ktime_get_ns();
	if (rs)
		verdict = tx ? ipvsa_tx_skb(rs, skb, &pkt, !msg[0], msg[1]) :
			       ipvsa_rx_skb(rs, skb, &pkt, U16_MAX, 1);
	t1 = ktime_get_ns();
	*accepted = verdict == NF_ACCEPT;
	kfree_skb(skb);
	return t1 - t0;
}

#if IS_ENABLED(CONFIG_KUNIT)
int ipvsa_test_own_sock(u32 kind)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		.sin_port = htons(8848),
	};
	const struct ipvsa_test_ip4 d = {
		.saddr = htonl(INADDR_LOOPBACK),
		.daddr = htonl(INADDR_LOOPBACK),
		.ttl = 255,
		.protocol = IPPROTO_UDP,
		.sport = htons(40000),
		.dport = htons(8848),
		.udp_len = sizeof(struct udphdr) + 8,
		.udp_csum = IPVSA_TEST_CSUM_ZERO,
	};
	const struct ipvsa_pkt pkt = { .thoff = sizeof(struct iphdr) };
	static const u8 msg[8] = { 0, 150, 0, 8, 0, 1, 0, 0 };
	struct sk_buff *skb;
	struct socket *sock;
	int ret;

	ret = kind == IPVSA_TEST_SOCK_USER ?
		sock_create(AF_INET, SOCK_DGRAM, IPPROTO_UDP, &sock) :
		sock_create_kern(&init_net, AF_INET, SOCK_DGRAM, IPPROTO_UDP, &sock);
	if (ret)
		return ret;
	if (kind == IPVSA_TEST_SOCK_OTHER_PORT)
		sin.sin_port = htons(8849);
	if (kind == IPVSA_TEST_SOCK_OTHER_GROUP)
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
	if (kind != IPVSA_TEST_SOCK_UNCONNECTED) {
		ret = kernel_connect(sock, (struct sockaddr_unsized *)&sin,
				     sizeof(sin), 0);
		if (ret)
			goto out;
	}
	ret = -ENOMEM;
	skb = ipvsa_test_ip4_skb(&d, msg, sizeof(msg));
	if (!skb)
		goto out;
	/* Borrowed for the check only: not charged to the socket. */
	skb->sk = sock->sk;
	ret = ipvsa_own_sync_sock(skb, NFPROTO_IPV4, &pkt);
	skb->sk = NULL;
	kfree_skb(skb);
out:
	sock_release(sock);
	return ret;
}

int ipvsa_test_skb(void *rs, bool tx, u32 kind, const u8 *msg, u32 len,
		   u8 *out, u32 out_size)
{
	const struct ipvsa_pkt pkt = { .thoff = sizeof(struct iphdr) };
	struct sk_buff *skb, *clone = NULL;
	struct iphdr *iph;
	struct udphdr *uh;
	unsigned int verdict, ulen;
	int ret;

	skb = ipvsa_build_skb(kind, msg, len);
	if (!skb)
		return -ENOMEM;
	if ((kind & ~(IPVSA_TEST_SKB_CSUM_ZERO | IPVSA_TEST_SKB_CSUM_PARTIAL)) ==
	    IPVSA_TEST_SKB_CLONED) {
		clone = skb_clone(skb, GFP_KERNEL);
		if (!clone) {
			kfree_skb(skb);
			return -ENOMEM;
		}
	}

	/* Signed as IPVS configured for this message's layout and SyncID. */
	verdict = tx ? ipvsa_tx_skb(rs, skb, &pkt, len && !msg[0], len > 1 ? msg[1] : 0) :
		       ipvsa_rx_skb(rs, skb, &pkt, U16_MAX, 1);
	if (verdict != NF_ACCEPT) {
		ret = -EBADMSG;
		goto out;
	}
	/* Headers must describe the new datagram exactly. */
	iph = ip_hdr(skb);
	uh = (struct udphdr *)(skb->data + pkt.thoff);
	ulen = ntohs(uh->len);
	ret = -EPROTO;
	if (skb_is_nonlinear(skb) || ntohs(iph->tot_len) != skb->len ||
	    ip_fast_csum(iph, iph->ihl) || pkt.thoff + ulen != skb->len)
		goto out;
	/* The UDP checksum kept its kind, and is right for the new datagram. */
	if (kind & IPVSA_TEST_SKB_CSUM_ZERO) {
		if (uh->check)
			goto out;
	} else if (kind & IPVSA_TEST_SKB_CSUM_PARTIAL) {
		if (skb->ip_summed != CHECKSUM_PARTIAL ||
		    skb->csum_start != skb_transport_header(skb) - skb->head ||
		    skb->csum_offset != offsetof(struct udphdr, check) ||
		    uh->check != (__force __sum16)~(__force u16)csum_tcpudp_magic(
					 iph->saddr, iph->daddr, ulen, IPPROTO_UDP, 0))
			goto out;
	} else if (!uh->check ||
		   csum_tcpudp_magic(iph->saddr, iph->daddr, ulen, IPPROTO_UDP,
				     skb_checksum(skb, pkt.thoff, ulen, 0))) {
		goto out;
	}
	if (tx && iph->ttl != 255)
		goto out;
	/* The backup moved the headers, not the entries: offsets follow. */
	if (skb_network_header(skb) != skb->data ||
	    skb_transport_header(skb) != skb->data + pkt.thoff ||
	    skb_mac_header(skb) + skb->mac_len != skb->data ||
	    memcmp(skb_mac_header(skb), ipvsa_test_mac, ETH_HLEN))
		goto out;
	/* A clone shares nothing we wrote: it still holds the original. */
	if (clone && (clone->len != sizeof(*iph) + sizeof(*uh) + len ||
		      memcmp(clone->data + sizeof(*iph) + sizeof(*uh), msg, len)))
		goto out;
	ret = -ENOSPC;
	if (ulen - sizeof(*uh) > out_size)
		goto out;
	memcpy(out, uh + 1, ulen - sizeof(*uh));
	ret = ulen - sizeof(*uh);
out:
	kfree_skb(skb);
	kfree_skb(clone);
	return ret;
}
#endif
