// SPDX-License-Identifier: GPL-2.0
/*
 * ip_vs_sync_auth: the IPsec gate in front of IPVS.
 *
 * For every virtual address the administrator marks (sockopt
 * IPVSA_SO_IPSEC), a NF_INET_LOCAL_IN hook at priority IPVSA_PRI_GATE, before
 * IPVS's own hooks (98, 99), sees UDP 500, UDP 4500, ESP and AH to that
 * address and keeps one ISAKMP entry per (client address, virtual address):
 *
 *  - ISAKMP / NAT-T keepalives create, refresh and establish entries (under
 *    the table lock; allocation of the entry itself only);
 *  - ESP / AH / ESP-in-UDP look their entry up without locks (RCU) and pass
 *    only if it is ESTABLISHED; with no entry the client gets ICMP protocol
 *    unreachable (ICMPv6 parameter problem, unrecognized next header).
 *
 * In NAT mode a NF_INET_FORWARD hook after IPVS's SNAT reads the responder
 * cookie of the real server's replies. A per-netns delayed work collects
 * expired entries once a second and grants soft expiry.
 *
 * Every decision is Rust's (ipvsa_rs_gate_*(), over proto::isakmp); this
 * file does the packet parsing, the table and the plumbing.
 */

#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jhash.h>
#include <linux/jiffies.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/sysctl.h>
#include <linux/udp.h>
#include <linux/workqueue.h>
#include <net/icmp.h>
#include <net/ip.h>
#include <net/ip_vs.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>
#include <net/netns/generic.h>

#include "ip_vs_sync_auth_shim.h"

/* LOCAL_IN: after filter (0) and security (50), before IPVS (98, 99). */
#define IPVSA_PRI_GATE (NF_IP_PRI_NAT_SRC - 10)
/* FORWARD: after IPVS's SNAT of NAT replies (100). */
#define IPVSA_PRI_LEARN (NF_IP_PRI_NAT_SRC + 10)

#define IPVSA_ISAKMP_PORT 500
#define IPVSA_NATT_PORT 4500
/* Bytes of UDP payload the classifier needs: marker + IKE header. */
#define IPVSA_GATE_HEAD 32
/* Collector period, seconds. */
#define IPVSA_GC_PERIOD 1

static unsigned int ipvsa_gate_bits = 14;
module_param_named(ipsec_table_bits, ipvsa_gate_bits, uint, 0444);
MODULE_PARM_DESC(ipsec_table_bits,
		 "log2 of the IPsec gate's hash buckets per netns (8..20, default 14)");

/**
 * struct ipvsa_gate_svc - a marked virtual address
 * @rcu: frees it
 * @af: AF_INET or AF_INET6
 * @vip: the address
 * @flags: IPVSA_IPSEC_F_*
 * @soft_quota: entries that may live past their timeout
 * @entries: entries of this address (table lock)
 * @soft: of which soft-extended (table lock)
 */
struct ipvsa_gate_svc {
	struct rcu_head rcu;
	u32 af;
	union nf_inet_addr vip;
	u32 flags;
	u32 soft_quota;
	u32 entries;
	u32 soft;
};

/* The marked addresses of a netns, replaced as a whole (RCU). */
struct ipvsa_gate_svcs {
	struct rcu_head rcu;
	u32 n;
	struct ipvsa_gate_svc *svc[IPVSA_IPSEC_MAX_SVC];
};

struct ipvsa_gate_key {
	union nf_inet_addr client;
	union nf_inet_addr vip;
	u32 af;
};

/**
 * struct ipvsa_gate_entry - one ISAKMP entry (see Documentation/)
 * @node: bucket list (RCU)
 * @rcu: frees it
 * @svc: its service; entries go before their service does
 * @key: client and virtual address
 * @st: state, written under the table lock, read locklessly by ESP
 */
struct ipvsa_gate_entry {
	struct hlist_node node;
	struct rcu_head rcu;
	struct ipvsa_gate_svc *svc;
	struct ipvsa_gate_key key;
	struct ipvsa_gate_state st;
};

/**
 * struct ipvsa_gate - per network namespace state of the gate
 * @net: the namespace
 * @svcs: the marked addresses (RCU; NULL: the gate is off)
 * @lock: protects the buckets' lists, entries' states and counts
 * @buckets: hash buckets, allocated with the first service
 * @mask: number of buckets - 1
 * @seed: hash seed
 * @entries: entries in the table
 * @initial: of which INITIAL
 * @gc: the collector
 * @cfg_mutex: serialises configuration
 * @defrag6: IPv6 defragmentation enabled by us
 * @initial_timeout: sysctl, seconds
 * @established_timeout: sysctl, seconds
 * @max_initial: sysctl
 * @sysctl: sysctl registration
 * @skew: seconds added to the clock (KUnit only, else 0)
 * @cnt: counters
 */
struct ipvsa_gate {
	struct net *net;
	struct ipvsa_gate_svcs __rcu *svcs;
	spinlock_t lock;
	struct hlist_head *buckets;
	u32 mask;
	u32 seed;
	u32 entries;
	u32 initial;
	struct delayed_work gc;
	struct mutex cfg_mutex;
	bool defrag6;
	int initial_timeout;
	int established_timeout;
	int max_initial;
	struct ctl_table_header *sysctl;
	u64 skew;
	atomic64_t cnt[IPVSA_GCNT_MAX];
};

static unsigned int ipvsa_gate_net_id __read_mostly;
static struct kmem_cache *ipvsa_gate_cache __read_mostly;

static inline struct ipvsa_gate *ipvsa_gate(struct net *net)
{
	return net_generic(net, ipvsa_gate_net_id);
}

static inline void ipvsa_gcount(struct ipvsa_gate *g, u32 idx)
{
	if (idx < IPVSA_GCNT_MAX)
		atomic64_inc(&g->cnt[idx]);
}

/* The gate's clock: seconds since boot, monotonic. */
static inline u64 ipvsa_gate_now(const struct ipvsa_gate *g)
{
	return div_u64(get_jiffies_64(), HZ) + READ_ONCE(g->skew);
}

static void ipvsa_gate_cfg(const struct ipvsa_gate *g,
			   const struct ipvsa_gate_svc *svc,
			   struct ipvsa_gate_cfg *cfg)
{
	cfg->initial_timeout = READ_ONCE(g->initial_timeout);
	cfg->established_timeout = READ_ONCE(g->established_timeout);
	cfg->max_initial = READ_ONCE(g->max_initial);
	cfg->nat_mode = svc && (READ_ONCE(svc->flags) & IPVSA_IPSEC_F_NAT);
}

static struct ipvsa_gate_svc *ipvsa_svc_find(struct ipvsa_gate_svcs *svcs,
					     u32 af,
					     const union nf_inet_addr *vip)
{
	u32 i;

	for (i = 0; i < svcs->n; i++) {
		struct ipvsa_gate_svc *s = svcs->svc[i];

		if (s->af == af &&
		    (af == AF_INET ? s->vip.ip == vip->ip :
		     ipv6_addr_equal(&s->vip.in6, &vip->in6)))
			return s;
	}
	return NULL;
}

static u32 ipvsa_gate_hash(const struct ipvsa_gate *g,
			   const struct ipvsa_gate_key *k)
{
	return jhash2((const u32 *)k, sizeof(*k) / sizeof(u32), g->seed) &
	       g->mask;
}

/* Lookup under RCU or the table lock. */
static struct ipvsa_gate_entry *ipvsa_gate_lookup(struct ipvsa_gate *g,
						  const struct ipvsa_gate_key *k,
						  u32 hash)
{
	struct ipvsa_gate_entry *e;

	hlist_for_each_entry_rcu(e, &g->buckets[hash], node,
				 lockdep_is_held(&g->lock)) {
		if (!memcmp(&e->key, k, sizeof(*k)))
			return e;
	}
	return NULL;
}

/* Lockless snapshot of an entry's state for the ESP path. */
static void ipvsa_state_read(const struct ipvsa_gate_entry *e,
			     struct ipvsa_gate_state *st)
{
	st->expires = READ_ONCE(e->st.expires);
	st->state = READ_ONCE(e->st.state);
	st->soft = READ_ONCE(e->st.soft);
	st->has_rcookie = 0;	/* ESP decisions never read it */
	memset(st->rcookie, 0, sizeof(st->rcookie));
}

/* Under the table lock: store a state, keeping the counts right. */
static void ipvsa_state_write(struct ipvsa_gate *g, struct ipvsa_gate_entry *e,
			      const struct ipvsa_gate_state *st)
{
	if (e->st.state == IPVSA_GATE_INITIAL && st->state != IPVSA_GATE_INITIAL)
		g->initial--;
	if (e->st.soft && !st->soft)
		e->svc->soft--;
	else if (!e->st.soft && st->soft)
		e->svc->soft++;
	WRITE_ONCE(e->st.expires, st->expires);
	WRITE_ONCE(e->st.state, st->state);
	WRITE_ONCE(e->st.soft, st->soft);
	e->st.has_rcookie = st->has_rcookie;
	memcpy(e->st.rcookie, st->rcookie, sizeof(st->rcookie));
}

/* Under the table lock: unlink and free (after a grace period). */
static void ipvsa_gate_remove(struct ipvsa_gate *g, struct ipvsa_gate_entry *e)
{
	hlist_del_rcu(&e->node);
	if (e->st.state == IPVSA_GATE_INITIAL)
		g->initial--;
	if (e->st.soft)
		e->svc->soft--;
	e->svc->entries--;
	g->entries--;
	kfree_rcu(e, rcu);
}

/* Under the table lock: add a new entry (GFP_ATOMIC). */
static struct ipvsa_gate_entry *ipvsa_gate_insert(struct ipvsa_gate *g,
						  struct ipvsa_gate_svc *svc,
						  const struct ipvsa_gate_key *k,
						  u32 hash,
						  const struct ipvsa_gate_state *st)
{
	struct ipvsa_gate_entry *e;

	e = kmem_cache_zalloc(ipvsa_gate_cache, GFP_ATOMIC);
	if (!e)
		return NULL;
	e->svc = svc;
	e->key = *k;
	e->st = *st;
	if (st->state == IPVSA_GATE_INITIAL)
		g->initial++;
	if (st->soft)
		svc->soft++;
	svc->entries++;
	g->entries++;
	hlist_add_head_rcu(&e->node, &g->buckets[hash]);
	if (g->entries == 1)
		mod_delayed_work(system_wq, &g->gc, IPVSA_GC_PERIOD * HZ);
	return e;
}

/*
 * Failover: does IPVS hold a UDP client:500 -> VIP:500 connection that it
 * received from the old master by sync and that this director has not
 * forwarded a packet for yet? Such a client was ESTABLISHED on the old
 * master. Once IPVS forwards a packet through the connection, it no
 * longer counts (until the next sync update for it), so the gate's own
 * timers apply again after the entry made from it expires.
 */
static bool ipvsa_ipvs_synced_isakmp(struct net *net,
				     const struct ipvsa_gate_key *k)
{
	bool fresh;

	struct netns_ipvs *ipvs = net_ipvs(net);
	struct ip_vs_conn_param p;
	struct ip_vs_conn *cp;

	if (!ipvs)
		return false;
	ip_vs_conn_fill_param(ipvs, k->af, IPPROTO_UDP, &k->client,
			      htons(IPVSA_ISAKMP_PORT), &k->vip,
			      htons(IPVSA_ISAKMP_PORT), &p);
	cp = ip_vs_conn_in_get(&p);
	if (!cp)
		return false;
	/*
	 * IPVS sets in_pkts of a connection it receives by sync to the sync
	 * threshold, and counts each packet it forwards through it.
	 */
	fresh = (cp->flags & IP_VS_CONN_F_SYNC) &&
		atomic_read(&cp->in_pkts) == sysctl_sync_threshold(ipvs);
	__ip_vs_conn_put(cp);
	return fresh;
}

/**
 * struct ipvsa_gate_pkt - a parsed packet to or from a marked address
 * @key: client and virtual address
 * @transport: IPVSA_GATE_*
 * @thoff: offset of the transport header from skb->data
 * @nhoff: IPv6: offset of the next-header byte naming ESP/AH
 * @plen: UDP payload length
 * @head: first bytes of the UDP payload
 * @headlen: valid bytes in @head
 */
struct ipvsa_gate_pkt {
	struct ipvsa_gate_key key;
	u32 transport;
	unsigned int thoff;
	unsigned int nhoff;
	u32 plen;
	u8 head[IPVSA_GATE_HEAD];
	u32 headlen;
};

enum ipvsa_parse {
	IPVSA_P_OTHER,		/* not ours: accept */
	IPVSA_P_OK,
	IPVSA_P_BAD,		/* ours but unusable: count and drop */
	IPVSA_P_FRAG,		/* an IPv6 fragment of gated traffic */
};

/*
 * Finds the transport header. @in: the packet goes to the virtual address
 * (LOCAL_IN), else it comes from it (FORWARD, NAT replies).
 */
static enum ipvsa_parse ipvsa_gate_parse_ip(struct sk_buff *skb, u8 pf,
					    bool in, struct ipvsa_gate_pkt *p,
					    u8 *proto)
{
	memset(&p->key, 0, sizeof(p->key));
	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		p->key.af = AF_INET;
		p->key.client.ip = in ? iph->saddr : iph->daddr;
		p->key.vip.ip = in ? iph->daddr : iph->saddr;
		*proto = iph->protocol;
		p->thoff = skb_network_offset(skb) + ip_hdrlen(skb);
		p->nhoff = 0;
		/* LOCAL_IN runs after reassembly; FORWARD may see fragments. */
		if (ip_is_fragment(iph))
			return IPVSA_P_FRAG;
		return IPVSA_P_OK;
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		unsigned int off = skb_network_offset(skb) + sizeof(*ip6h);
		unsigned int nhoff = skb_network_offset(skb) +
				     offsetof(struct ipv6hdr, nexthdr);
		u8 nexthdr = ip6h->nexthdr;
		int hops;

		p->key.af = AF_INET6;
		p->key.client.in6 = in ? ip6h->saddr : ip6h->daddr;
		p->key.vip.in6 = in ? ip6h->daddr : ip6h->saddr;
		/* Walk extension headers, remembering where each is named. */
		for (hops = 0; hops < 8; hops++) {
			u8 buf[2];
			const u8 *h;

			switch (nexthdr) {
			case NEXTHDR_HOP:
			case NEXTHDR_ROUTING:
			case NEXTHDR_DEST:
				h = skb_header_pointer(skb, off, 2, buf);
				if (!h)
					return IPVSA_P_OTHER;
				nhoff = off;
				nexthdr = h[0];
				off += ipv6_optlen((const struct ipv6_opt_hdr *)h);
				continue;
			case NEXTHDR_FRAGMENT:
				*proto = NEXTHDR_FRAGMENT;
				return IPVSA_P_FRAG;
			default:
				break;
			}
			break;
		}
		*proto = nexthdr;
		p->thoff = off;
		p->nhoff = nhoff;
		return IPVSA_P_OK;
	}
}

/* UDP: fill ports, payload length and head. */
static enum ipvsa_parse ipvsa_gate_parse_udp(struct sk_buff *skb,
					     struct ipvsa_gate_pkt *p,
					     bool in)
{
	const struct udphdr *uh;
	struct udphdr _uh;
	unsigned int ulen;
	u16 port;

	uh = skb_header_pointer(skb, p->thoff, sizeof(_uh), &_uh);
	if (!uh)
		return IPVSA_P_OTHER;
	port = ntohs(in ? uh->dest : uh->source);
	if (port == IPVSA_ISAKMP_PORT)
		p->transport = IPVSA_GATE_UDP500;
	else if (port == IPVSA_NATT_PORT)
		p->transport = IPVSA_GATE_UDP4500;
	else
		return IPVSA_P_OTHER;
	ulen = ntohs(uh->len);
	if (ulen < sizeof(*uh) || p->thoff + ulen > skb->len)
		return IPVSA_P_BAD;
	p->plen = ulen - sizeof(*uh);
	p->headlen = min_t(u32, p->plen, IPVSA_GATE_HEAD);
	if (skb_copy_bits(skb, p->thoff + sizeof(*uh), p->head, p->headlen))
		return IPVSA_P_BAD;
	return IPVSA_P_OK;
}

static void ipvsa_gate_reject(struct sk_buff *skb,
			      const struct ipvsa_gate_pkt *p)
{
	if (p->key.af == AF_INET)
		icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0);
#if IS_ENABLED(CONFIG_IPV6)
	else
		icmpv6_send(skb, ICMPV6_PARAMPROB, ICMPV6_UNK_NEXTHDR,
			    p->nhoff - skb_network_offset(skb));
#endif
}

/*
 * Under the table lock, for a client with no live entry: inserts an
 * ESTABLISHED entry if IPVS synced the client's ISAKMP flow from the old
 * master (ipvsa_ipvs_synced_isakmp()). Returns whether it did.
 */
static bool ipvsa_gate_failover(struct ipvsa_gate *g, struct ipvsa_gate_svc *svc,
				const struct ipvsa_gate_pkt *p, u32 hash,
				struct ipvsa_gate_entry *expired,
				const struct ipvsa_gate_cfg *cfg, u64 now)
{
	struct ipvsa_gate_state st;

	if (!ipvsa_ipvs_synced_isakmp(g->net, &p->key))
		return false;
	ipvsa_rs_gate_from_sync(cfg, now, &st);
	if (expired)
		ipvsa_gate_remove(g, expired);
	if (!ipvsa_gate_insert(g, svc, &p->key, hash, &st)) {
		ipvsa_gcount(g, IPVSA_GCNT_NOMEM);
		return false;
	}
	ipvsa_gcount(g, IPVSA_GCNT_FAILOVER);
	return true;
}

/* ESP / AH / ESP-in-UDP: lockless, except to create a failover entry. */
static u32 ipvsa_gate_esp(struct ipvsa_gate *g, struct ipvsa_gate_svc *svc,
			  const struct ipvsa_gate_pkt *p,
			  const struct ipvsa_gate_input *in, u64 now)
{
	struct ipvsa_gate_state st, created;
	struct ipvsa_gate_entry *e;
	struct ipvsa_gate_cfg cfg;
	u32 hash, ev;

	ipvsa_gate_cfg(g, svc, &cfg);
	hash = ipvsa_gate_hash(g, &p->key);
	e = ipvsa_gate_lookup(g, &p->key, hash);
	if (e)
		ipvsa_state_read(e, &st);
	ev = ipvsa_rs_gate_decide(&cfg, in, e ? &st : NULL, 0, now, &created);
	if (ev != IPVSA_GEV_ESP_NO_ENTRY)
		return ev;

	/* Slow path, once per client: failover from a synced flow. */
	spin_lock_bh(&g->lock);
	e = ipvsa_gate_lookup(g, &p->key, hash);
	if (e && !ipvsa_rs_gate_expired(&e->st, now)) {
		/* Someone created it meanwhile: decide on that. */
		memcpy(&st, &e->st, sizeof(st));
		ev = ipvsa_rs_gate_decide(&cfg, in, &st, 0, now, &created);
	} else if (ipvsa_gate_failover(g, svc, p, hash, e, &cfg, now)) {
		ev = IPVSA_GEV_ESP_PASS;
	}
	spin_unlock_bh(&g->lock);
	return ev;
}

/* ISAKMP / keepalive: under the table lock. Returns the event or U32_MAX
 * for an allocation failure. */
static u32 ipvsa_gate_isakmp(struct ipvsa_gate *g, struct ipvsa_gate_svc *svc,
			     const struct ipvsa_gate_pkt *p,
			     const struct ipvsa_gate_input *in, u64 now)
{
	struct ipvsa_gate_state st, created;
	struct ipvsa_gate_entry *e;
	struct ipvsa_gate_cfg cfg;
	u32 hash, ev;

	ipvsa_gate_cfg(g, svc, &cfg);
	hash = ipvsa_gate_hash(g, &p->key);
	spin_lock_bh(&g->lock);
	e = ipvsa_gate_lookup(g, &p->key, hash);
	if (e)
		memcpy(&st, &e->st, sizeof(st));
	ev = ipvsa_rs_gate_decide(&cfg, in, e ? &st : NULL, g->initial, now,
				  &created);
	if (ev == IPVSA_GEV_INITIAL_CREATED) {
		/* Replaces an expired entry of the same client, if any. */
		if (e)
			ipvsa_gate_remove(g, e);
		if (!ipvsa_gate_insert(g, svc, &p->key, hash, &created))
			ev = U32_MAX;
	} else if (ev == IPVSA_GEV_ISAKMP_NO_INITIAL) {
		/* An established client of the old master (failover)? */
		if (ipvsa_gate_failover(g, svc, p, hash, e, &cfg, now))
			ev = IPVSA_GEV_ESTABLISHED_REFRESH;
	} else if (e) {
		ipvsa_state_write(g, e, &st);
	}
	spin_unlock_bh(&g->lock);
	return ev;
}

/* The gate's verdict on a packet in LOCAL_IN; caller holds rcu_read_lock. */
static unsigned int ipvsa_gate_packet(struct ipvsa_gate *g, struct sk_buff *skb,
				      u8 pf)
{
	struct ipvsa_gate_svcs *svcs;
	struct ipvsa_gate_svc *svc;
	struct ipvsa_gate_input in;
	struct ipvsa_gate_pkt p;
	u32 ev, verdict;
	u8 proto;

	/* Hooks run under rcu_read_lock(). */
	svcs = rcu_dereference(g->svcs);
	if (!svcs)
		return NF_ACCEPT;
	switch (ipvsa_gate_parse_ip(skb, pf, true, &p, &proto)) {
	case IPVSA_P_OK:
		break;
	case IPVSA_P_FRAG:
		if (!ipvsa_svc_find(svcs, p.key.af, &p.key.vip))
			return NF_ACCEPT;
		ipvsa_gcount(g, IPVSA_GCNT_FRAGMENT);
		return NF_DROP;
	default:
		return NF_ACCEPT;
	}
	svc = ipvsa_svc_find(svcs, p.key.af, &p.key.vip);
	if (!svc)
		return NF_ACCEPT;
	switch (proto) {
	case IPPROTO_ESP:
	case IPPROTO_AH:
		p.transport = proto == IPPROTO_ESP ? IPVSA_GATE_ESP : IPVSA_GATE_AH;
		p.plen = 0;
		p.headlen = 0;
		break;
	case IPPROTO_UDP:
		switch (ipvsa_gate_parse_udp(skb, &p, true)) {
		case IPVSA_P_OK:
			break;
		case IPVSA_P_BAD:
			ipvsa_gcount(g, IPVSA_GCNT_MALFORMED);
			return NF_DROP;
		default:
			return NF_ACCEPT;
		}
		break;
	default:
		return NF_ACCEPT;
	}

	if (ipvsa_rs_gate_classify(p.transport, p.head, p.headlen, p.plen,
				   &in, &ev)) {
		u64 now = ipvsa_gate_now(g);

		if (in.kind == IPVSA_GATE_IN_ESP)
			ev = ipvsa_gate_esp(g, svc, &p, &in, now);
		else
			ev = ipvsa_gate_isakmp(g, svc, &p, &in, now);
	}
	if (ev == U32_MAX) {
		ipvsa_gcount(g, IPVSA_GCNT_NOMEM);
		return NF_DROP;
	}
	ipvsa_gcount(g, ev);
	verdict = ipvsa_rs_gate_verdict(ev);
	if (verdict == IPVSA_GATE_PASS)
		return NF_ACCEPT;
	/* ESP in UDP reached an open UDP port: no protocol-unreachable. */
	if (verdict == IPVSA_GATE_REJECT && p.transport != IPVSA_GATE_UDP4500)
		ipvsa_gate_reject(skb, &p);
	return NF_DROP;
}

static unsigned int ipvsa_gate_hook(void *priv, struct sk_buff *skb,
				    const struct nf_hook_state *state)
{
	return ipvsa_gate_packet(ipvsa_gate(state->net), skb, state->pf);
}

/* NAT mode: learn the responder cookie from a real server's reply, which
 * IPVS has just translated to come from the virtual address. */
static void ipvsa_gate_learn(struct ipvsa_gate *g, struct sk_buff *skb, u8 pf)
{
	struct ipvsa_gate_svcs *svcs;
	struct ipvsa_gate_svc *svc;
	struct ipvsa_gate_entry *e;
	struct ipvsa_gate_state st;
	struct ipvsa_gate_pkt p;
	bool learned = false;
	u64 now;
	u8 proto;
	u32 hash;

	svcs = rcu_dereference(g->svcs);
	if (!svcs)
		return;
	if (ipvsa_gate_parse_ip(skb, pf, false, &p, &proto) != IPVSA_P_OK ||
	    proto != IPPROTO_UDP)
		return;
	svc = ipvsa_svc_find(svcs, p.key.af, &p.key.vip);
	if (!svc || !(READ_ONCE(svc->flags) & IPVSA_IPSEC_F_NAT))
		return;
	if (ipvsa_gate_parse_udp(skb, &p, false) != IPVSA_P_OK)
		return;

	now = ipvsa_gate_now(g);
	hash = ipvsa_gate_hash(g, &p.key);
	spin_lock_bh(&g->lock);
	e = ipvsa_gate_lookup(g, &p.key, hash);
	if (e && !ipvsa_rs_gate_expired(&e->st, now)) {
		memcpy(&st, &e->st, sizeof(st));
		learned = ipvsa_rs_gate_learn(p.transport, p.head, p.headlen,
					      p.plen, &st);
		if (learned)
			ipvsa_state_write(g, e, &st);
	}
	spin_unlock_bh(&g->lock);
	if (learned)
		ipvsa_gcount(g, IPVSA_GCNT_LEARNED);
}

static unsigned int ipvsa_learn_hook(void *priv, struct sk_buff *skb,
				     const struct nf_hook_state *state)
{
	/* Only replies IPVS has just translated. */
	if (skb->ipvs_property)
		ipvsa_gate_learn(ipvsa_gate(state->net), skb, state->pf);
	/* The reply itself is IPVS's business. */
	return NF_ACCEPT;
}

static const struct nf_hook_ops ipvsa_gate_ops[] = {
	{
		.hook = ipvsa_gate_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = IPVSA_PRI_GATE,
	},
	{
		.hook = ipvsa_learn_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_FORWARD,
		.priority = IPVSA_PRI_LEARN,
	},
	{
		.hook = ipvsa_gate_hook,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = IPVSA_PRI_GATE,
	},
	{
		.hook = ipvsa_learn_hook,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_FORWARD,
		.priority = IPVSA_PRI_LEARN,
	},
};

/*
 * The collector: once a second, removes expired entries and grants soft
 * expiry. It looks one period ahead for soft expiry, so an entry is
 * extended before its timeout rather than up to a period after. Takes the
 * lock per bucket, so packets never wait for a whole pass.
 */
static bool ipvsa_gate_collect(struct ipvsa_gate *g)
{
	struct ipvsa_gate_entry *e;
	struct hlist_node *tmp;
	struct ipvsa_gate_cfg cfg;
	u64 now = ipvsa_gate_now(g);
	u32 i, removed = 0, extended = 0;
	bool more;

	ipvsa_gate_cfg(g, NULL, &cfg);
	for (i = 0; i <= g->mask; i++) {
		if (hlist_empty(&g->buckets[i]))
			continue;
		spin_lock_bh(&g->lock);
		hlist_for_each_entry_safe(e, tmp, &g->buckets[i], node) {
			struct ipvsa_gate_state st;

			if (!e->st.soft && e->svc->soft < e->svc->soft_quota &&
			    e->st.state == IPVSA_GATE_ESTABLISHED) {
				memcpy(&st, &e->st, sizeof(st));
				if (ipvsa_rs_gate_soft_extend(&cfg, &st,
							      now + IPVSA_GC_PERIOD)) {
					ipvsa_state_write(g, e, &st);
					extended++;
				}
			}
			if (ipvsa_rs_gate_expired(&e->st, now)) {
				ipvsa_gate_remove(g, e);
				removed++;
			}
		}
		spin_unlock_bh(&g->lock);
		if ((i & 255) == 255)
			cond_resched();
	}
	atomic64_add(removed, &g->cnt[IPVSA_GCNT_EXPIRED]);
	atomic64_add(extended, &g->cnt[IPVSA_GCNT_SOFT_EXTENDED]);
	spin_lock_bh(&g->lock);
	more = g->entries > 0;
	spin_unlock_bh(&g->lock);
	return more;
}

static void ipvsa_gate_gc(struct work_struct *work)
{
	struct ipvsa_gate *g = container_of(to_delayed_work(work),
					    struct ipvsa_gate, gc);

	if (ipvsa_gate_collect(g))
		queue_delayed_work(system_wq, &g->gc, IPVSA_GC_PERIOD * HZ);
}

/* Removes the entries of @svc (NULL: all). Process context. */
static void ipvsa_gate_flush(struct ipvsa_gate *g, struct ipvsa_gate_svc *svc)
{
	struct ipvsa_gate_entry *e;
	struct hlist_node *tmp;
	u32 i;

	if (!g->buckets)
		return;
	for (i = 0; i <= g->mask; i++) {
		spin_lock_bh(&g->lock);
		hlist_for_each_entry_safe(e, tmp, &g->buckets[i], node) {
			if (!svc || e->svc == svc)
				ipvsa_gate_remove(g, e);
		}
		spin_unlock_bh(&g->lock);
		if ((i & 255) == 255)
			cond_resched();
	}
}

/* Under cfg_mutex: publishes @new (may be NULL) and frees what is gone. */
static void ipvsa_svcs_replace(struct ipvsa_gate *g,
			       struct ipvsa_gate_svcs *new,
			       struct ipvsa_gate_svc *gone)
{
	struct ipvsa_gate_svcs *old;

	old = rcu_replace_pointer(g->svcs, new, lockdep_is_held(&g->cfg_mutex));
	if (!gone && !old)
		return;
	/* No hook may still insert entries for @gone after this. */
	synchronize_net();
	if (gone) {
		ipvsa_gate_flush(g, gone);
		kfree_rcu(gone, rcu);
	}
	kfree_rcu(old, rcu);
}

static int ipvsa_gate_alloc_table(struct ipvsa_gate *g)
{
	u32 bits = clamp(ipvsa_gate_bits, 8U, 20U);

	if (g->buckets)
		return 0;
	g->buckets = kvcalloc(1U << bits, sizeof(*g->buckets), GFP_KERNEL);
	if (!g->buckets)
		return -ENOMEM;
	g->mask = (1U << bits) - 1;
	return 0;
}

static int ipvsa_gate_set(struct ipvsa_gate *g, const struct ipvsa_ipsec_cmd *cmd)
{
	struct ipvsa_gate_svcs *cur, *new = NULL;
	struct ipvsa_gate_svc *svc;
	union nf_inet_addr vip = {};
	struct net *net = g->net;
	u32 i;
	int ret = 0;

	if (cmd->cmd == IPVSA_IPSEC_ADD || cmd->cmd == IPVSA_IPSEC_DEL) {
		if (cmd->af == AF_INET) {
			memcpy(&vip.ip, cmd->vip, 4);
			if (memchr_inv(cmd->vip + 4, 0, 12) || !vip.ip)
				return -EINVAL;
		} else if (cmd->af == AF_INET6 && IS_ENABLED(CONFIG_IPV6)) {
			memcpy(&vip.in6, cmd->vip, 16);
			if (ipv6_addr_any(&vip.in6))
				return -EINVAL;
		} else {
			return -EAFNOSUPPORT;
		}
	}
	if (cmd->cmd == IPVSA_IPSEC_ADD && (cmd->flags & ~IPVSA_IPSEC_F_NAT))
		return -EINVAL;

	mutex_lock(&g->cfg_mutex);
	cur = rcu_dereference_protected(g->svcs, lockdep_is_held(&g->cfg_mutex));
	switch (cmd->cmd) {
	case IPVSA_IPSEC_ADD:
		svc = cur ? ipvsa_svc_find(cur, cmd->af, &vip) : NULL;
		if (svc) {
			/* Update in place; entries keep their state. */
			WRITE_ONCE(svc->flags, cmd->flags);
			spin_lock_bh(&g->lock);
			svc->soft_quota = cmd->soft_quota;
			spin_unlock_bh(&g->lock);
			break;
		}
		if (cur && cur->n >= IPVSA_IPSEC_MAX_SVC) {
			ret = -ENOSPC;
			break;
		}
		ret = ipvsa_gate_alloc_table(g);
		if (ret)
			break;
		if (cmd->af == AF_INET6 && !g->defrag6) {
			/* Gated IPv6 traffic must be reassembled to be seen. */
			ret = nf_defrag_ipv6_enable(net);
			if (ret)
				break;
			g->defrag6 = true;
		}
		new = kzalloc(sizeof(*new), GFP_KERNEL);
		svc = kzalloc(sizeof(*svc), GFP_KERNEL);
		if (!new || !svc) {
			kfree(new);
			kfree(svc);
			ret = -ENOMEM;
			break;
		}
		svc->af = cmd->af;
		svc->vip = vip;
		svc->flags = cmd->flags;
		svc->soft_quota = cmd->soft_quota;
		if (cur) {
			memcpy(new->svc, cur->svc, cur->n * sizeof(cur->svc[0]));
			new->n = cur->n;
		}
		new->svc[new->n++] = svc;
		ipvsa_svcs_replace(g, new, NULL);
		break;
	case IPVSA_IPSEC_DEL:
		svc = cur ? ipvsa_svc_find(cur, cmd->af, &vip) : NULL;
		if (!svc) {
			ret = -ESRCH;
			break;
		}
		if (cur->n > 1) {
			new = kzalloc(sizeof(*new), GFP_KERNEL);
			if (!new) {
				ret = -ENOMEM;
				break;
			}
			for (i = 0; i < cur->n; i++)
				if (cur->svc[i] != svc)
					new->svc[new->n++] = cur->svc[i];
		}
		ipvsa_svcs_replace(g, new, svc);
		break;
	case IPVSA_IPSEC_FLUSH:
		if (!cur)
			break;
		rcu_assign_pointer(g->svcs, NULL);
		synchronize_net();
		ipvsa_gate_flush(g, NULL);
		for (i = 0; i < cur->n; i++)
			kfree(cur->svc[i]);
		kfree(cur);
		break;
	default:
		ret = -EINVAL;
	}
	mutex_unlock(&g->cfg_mutex);
	return ret;
}

int ipvsa_ipsec_set(struct net *net, const void *arg, unsigned int len)
{
	if (len != sizeof(struct ipvsa_ipsec_cmd))
		return -EINVAL;
	return ipvsa_gate_set(ipvsa_gate(net), arg);
}

int ipvsa_ipsec_get(struct net *net, struct ipvsa_ipsec_status *st)
{
	struct ipvsa_gate *g = ipvsa_gate(net);
	struct ipvsa_gate_svcs *cur;
	u32 i;

	memset(st, 0, sizeof(*st));
	st->version = IPVSA_IPSEC_STATUS_VERSION;
	st->initial_timeout = READ_ONCE(g->initial_timeout);
	st->established_timeout = READ_ONCE(g->established_timeout);
	st->max_initial = READ_ONCE(g->max_initial);
	for (i = 0; i < IPVSA_GCNT_MAX; i++)
		st->counters[i] = atomic64_read(&g->cnt[i]);
	mutex_lock(&g->cfg_mutex);
	cur = rcu_dereference_protected(g->svcs, lockdep_is_held(&g->cfg_mutex));
	spin_lock_bh(&g->lock);
	st->entries = g->entries;
	st->initial = g->initial;
	for (i = 0; cur && i < cur->n; i++) {
		struct ipvsa_ipsec_svc_info *d = &st->svc[i];
		const struct ipvsa_gate_svc *s = cur->svc[i];

		d->af = s->af;
		memcpy(d->vip, &s->vip, s->af == AF_INET ? 4 : 16);
		d->flags = s->flags;
		d->soft_quota = s->soft_quota;
		d->entries = s->entries;
		d->soft = s->soft;
	}
	st->nsvc = cur ? cur->n : 0;
	spin_unlock_bh(&g->lock);
	mutex_unlock(&g->cfg_mutex);
	return 0;
}

static int ipvsa_ipsec_proc_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct ipvsa_ipsec_status *st;
	char name[32];
	u32 i;

	st = kmalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	ipvsa_ipsec_get(net, st);
	seq_printf(seq, "services: %u\n", st->nsvc);
	for (i = 0; i < st->nsvc; i++) {
		const struct ipvsa_ipsec_svc_info *s = &st->svc[i];

		if (s->af == AF_INET)
			seq_printf(seq, "service: %pI4 %s soft_quota %u entries %u soft %u\n",
				   s->vip, s->flags & IPVSA_IPSEC_F_NAT ? "nat" : "dr",
				   s->soft_quota, s->entries, s->soft);
		else
			seq_printf(seq, "service: %pI6c %s soft_quota %u entries %u soft %u\n",
				   s->vip, s->flags & IPVSA_IPSEC_F_NAT ? "nat" : "dr",
				   s->soft_quota, s->entries, s->soft);
	}
	seq_printf(seq, "entries: %u\ninitial: %u\n", st->entries, st->initial);
	for (i = 0; i < IPVSA_GCNT_MAX; i++) {
		if (ipvsa_rs_gate_counter_name(i, name, sizeof(name)))
			seq_printf(seq, "%s: %llu\n", name, st->counters[i]);
	}
	kfree(st);
	return 0;
}

static int ipvsa_one = 1;
static int ipvsa_day_max = INT_MAX / HZ;

static const struct ctl_table ipvsa_gate_sysctl_tmpl[] = {
	{
		.procname = "ipsec_initial_timeout",
		.maxlen = sizeof(int),
		.mode = 0644,
		.proc_handler = proc_dointvec_minmax,
		.extra1 = &ipvsa_one,
		.extra2 = &ipvsa_day_max,
	},
	{
		.procname = "ipsec_established_timeout",
		.maxlen = sizeof(int),
		.mode = 0644,
		.proc_handler = proc_dointvec_minmax,
		.extra1 = &ipvsa_one,
		.extra2 = &ipvsa_day_max,
	},
	{
		.procname = "ipsec_max_initial",
		.maxlen = sizeof(int),
		.mode = 0644,
		.proc_handler = proc_dointvec_minmax,
		.extra1 = SYSCTL_ZERO,
		.extra2 = SYSCTL_INT_MAX,
	},
};

/* Initialises a zeroed gate: no service, default knobs. */
static void ipvsa_gate_init(struct ipvsa_gate *g, struct net *net)
{
	g->net = net;
	spin_lock_init(&g->lock);
	mutex_init(&g->cfg_mutex);
	INIT_DELAYED_WORK(&g->gc, ipvsa_gate_gc);
	g->seed = get_random_u32();
	g->initial_timeout = 30;
	g->established_timeout = 3600;
	g->max_initial = 4096;
}

/*
 * Frees a gate's services, entries and buckets. No hook or configuration
 * call may reach it any more. Process context.
 */
static void ipvsa_gate_destroy(struct ipvsa_gate *g)
{
	struct ipvsa_gate_svcs *cur;
	u32 i;

	cancel_delayed_work_sync(&g->gc);
	ipvsa_gate_flush(g, NULL);
	cur = rcu_dereference_protected(g->svcs, 1);
	RCU_INIT_POINTER(g->svcs, NULL);
	for (i = 0; cur && i < cur->n; i++)
		kfree_rcu(cur->svc[i], rcu);
	if (cur)
		kfree_rcu(cur, rcu);
	if (g->defrag6)
		nf_defrag_ipv6_disable(g->net);
	g->defrag6 = false;
	kvfree(g->buckets);
	g->buckets = NULL;
}

static int __net_init ipvsa_gate_net_init(struct net *net)
{
	struct ipvsa_gate *g = ipvsa_gate(net);
	struct ctl_table *tbl;
	int err;

	ipvsa_gate_init(g, net);

	tbl = kmemdup(ipvsa_gate_sysctl_tmpl, sizeof(ipvsa_gate_sysctl_tmpl),
		      GFP_KERNEL);
	if (!tbl)
		return -ENOMEM;
	tbl[0].data = &g->initial_timeout;
	tbl[1].data = &g->established_timeout;
	tbl[2].data = &g->max_initial;
	g->sysctl = register_net_sysctl_sz(net, "net/ipv4/vs", tbl,
					   ARRAY_SIZE(ipvsa_gate_sysctl_tmpl));
	if (!g->sysctl) {
		kfree(tbl);
		return -ENOMEM;
	}
	err = nf_register_net_hooks(net, ipvsa_gate_ops,
				    ARRAY_SIZE(ipvsa_gate_ops));
	if (err)
		goto sysctl;
	if (!proc_create_net_single("ip_vs_ipsec", 0444, net->proc_net,
				    ipvsa_ipsec_proc_show, NULL)) {
		err = -ENOMEM;
		goto hooks;
	}
	return 0;

hooks:
	nf_unregister_net_hooks(net, ipvsa_gate_ops, ARRAY_SIZE(ipvsa_gate_ops));
sysctl:
	tbl = (struct ctl_table *)g->sysctl->ctl_table_arg;
	unregister_net_sysctl_table(g->sysctl);
	kfree(tbl);
	return err;
}

static void __net_exit ipvsa_gate_net_exit(struct net *net)
{
	struct ipvsa_gate *g = ipvsa_gate(net);
	const struct ctl_table *tbl;

	remove_proc_entry("ip_vs_ipsec", net->proc_net);
	/* Waits for hooks in flight. */
	nf_unregister_net_hooks(net, ipvsa_gate_ops, ARRAY_SIZE(ipvsa_gate_ops));
	tbl = g->sysctl->ctl_table_arg;
	unregister_net_sysctl_table(g->sysctl);
	kfree(tbl);
	/* No hook, collector or configuration call can reach it now. */
	ipvsa_gate_destroy(g);
}

static struct pernet_operations ipvsa_gate_net_ops = {
	.init = ipvsa_gate_net_init,
	.exit = ipvsa_gate_net_exit,
	.id = &ipvsa_gate_net_id,
	.size = sizeof(struct ipvsa_gate),
};

int ipvsa_ipsec_register(void)
{
	int err;

	ipvsa_gate_cache = KMEM_CACHE(ipvsa_gate_entry, 0);
	if (!ipvsa_gate_cache)
		return -ENOMEM;
	err = register_pernet_subsys(&ipvsa_gate_net_ops);
	if (err)
		kmem_cache_destroy(ipvsa_gate_cache);
	return err;
}

void ipvsa_ipsec_unregister(void)
{
	unregister_pernet_subsys(&ipvsa_gate_net_ops);
	/* kfree_rcu() of entries must complete before the cache goes. */
	rcu_barrier();
	kmem_cache_destroy(ipvsa_gate_cache);
}

/*
 * A private gate (not any namespace's) with 192.0.2.1 marked, for KUnit and
 * the benchmark: driven through the same code as the hooks.
 */
#define IPVSA_TEST_VIP htonl(0xc0000201)		/* 192.0.2.1 */
#define IPVSA_TEST_CLIENT(n) htonl(0xc6336400 | (n))	/* 198.51.100.n */

void *ipvsa_test_gate_new(bool nat, u32 soft_quota, u32 max_initial)
{
	struct ipvsa_ipsec_cmd cmd = {
		.cmd = IPVSA_IPSEC_ADD,
		.af = AF_INET,
		.flags = nat ? IPVSA_IPSEC_F_NAT : 0,
		.soft_quota = soft_quota,
	};
	__be32 vip = IPVSA_TEST_VIP;
	struct ipvsa_gate *g;

	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return NULL;
	ipvsa_gate_init(g, &init_net);
	g->max_initial = max_initial;
	memcpy(cmd.vip, &vip, 4);
	if (ipvsa_gate_set(g, &cmd)) {
		ipvsa_gate_destroy(g);
		kfree(g);
		return NULL;
	}
	return g;
}

void ipvsa_test_gate_free(void *gate)
{
	struct ipvsa_gate *g = gate;

	if (!g)
		return;
	ipvsa_gate_destroy(g);
	/* Entries and services go by RCU callbacks. */
	rcu_barrier();
	kfree(g);
}

/* A packet from client address @caddr (ESP, or ISAKMP with @rcookie). */
static void ipvsa_bench_pkt(struct ipvsa_gate_pkt *p,
			    struct ipvsa_gate_input *in, __be32 caddr,
			    bool esp, u8 rcookie)
{
	memset(p, 0, sizeof(*p));
	memset(in, 0, sizeof(*in));
	p->key.af = AF_INET;
	p->key.client.ip = caddr;
	p->key.vip.ip = IPVSA_TEST_VIP;
	p->transport = esp ? IPVSA_GATE_ESP : IPVSA_GATE_UDP500;
	in->kind = esp ? IPVSA_GATE_IN_ESP : IPVSA_GATE_IN_ISAKMP;
	memset(in->icookie, 0x11, sizeof(in->icookie));
	memset(in->rcookie, rcookie, sizeof(in->rcookie));
}

static __be32 ipvsa_bench_client(u32 i)
{
	return htonl(0x0a000000 | (i & 0xffffff));	/* 10.x.y.z */
}

int ipvsa_gate_bench(u32 entries, u32 iters, struct ipvsa_gate_bench *r)
{
	struct ipvsa_gate_svc *svc;
	struct ipvsa_gate_input in;
	struct ipvsa_gate_pkt p;
	struct ipvsa_gate *g;
	u64 t, now;
	u32 i, bad = 0;

	memset(r, 0, sizeof(*r));
	g = ipvsa_test_gate_new(false, 0, entries);
	if (!g)
		return -ENOMEM;
	/* Nobody else configures a private gate. */
	svc = rcu_dereference_protected(g->svcs, 1)->svc[0];
	iters = max(iters, 1U);
	now = ipvsa_gate_now(g);

	t = ktime_get_ns();
	for (i = 0; i < entries; i++) {
		ipvsa_bench_pkt(&p, &in, ipvsa_bench_client(i), false, 0);
		bad += ipvsa_gate_isakmp(g, svc, &p, &in, now) !=
		       IPVSA_GEV_INITIAL_CREATED;
	}
	r->isakmp_create_ns = div_u64(ktime_get_ns() - t, max(entries, 1U));
	t = ktime_get_ns();
	for (i = 0; i < entries; i++) {
		ipvsa_bench_pkt(&p, &in, ipvsa_bench_client(i), false, 0x22);
		bad += ipvsa_gate_isakmp(g, svc, &p, &in, now) !=
		       IPVSA_GEV_ESTABLISHED;
	}
	r->isakmp_establish_ns = div_u64(ktime_get_ns() - t, max(entries, 1U));

	rcu_read_lock();
	t = ktime_get_ns();
	for (i = 0; i < iters; i++) {
		ipvsa_bench_pkt(&p, &in, ipvsa_bench_client((i * 7919) % max(entries, 1U)),
				true, 0);
		bad += ipvsa_gate_esp(g, svc, &p, &in, now) !=
		       IPVSA_GEV_ESP_PASS;
	}
	r->esp_hit_ns = div_u64(ktime_get_ns() - t, iters);
	t = ktime_get_ns();
	for (i = 0; i < iters; i++) {
		ipvsa_bench_pkt(&p, &in, htonl(0x0b000000 | i), true, 0);
		bad += ipvsa_gate_esp(g, svc, &p, &in, now) !=
		       IPVSA_GEV_ESP_NO_ENTRY;
	}
	r->esp_miss_ns = div_u64(ktime_get_ns() - t, iters);
	rcu_read_unlock();

	/* Collector: a pass over live entries, then one removing them all. */
	cancel_delayed_work_sync(&g->gc);
	t = ktime_get_ns();
	ipvsa_gate_collect(g);
	r->gc_live_ns = ktime_get_ns() - t;
	r->entries = g->entries;
	WRITE_ONCE(g->skew, 7200);
	t = ktime_get_ns();
	ipvsa_gate_collect(g);
	r->gc_expire_ns = ktime_get_ns() - t;
	r->entry_size = kmem_cache_size(ipvsa_gate_cache);
	r->buckets = g->mask + 1;
	r->bucket_bytes = (u64)(g->mask + 1) * sizeof(struct hlist_head);
	r->errors = bad + g->entries;
	ipvsa_test_gate_free(g);
	return 0;
}

#if IS_ENABLED(CONFIG_KUNIT)
int ipvsa_test_gate_packet(void *gate, bool reply, u8 client, u32 transport,
			   const u8 *payload, u32 len, u32 udp_len_delta)
{
	struct ipvsa_gate *g = gate;
	bool udp = transport == IPVSA_GATE_UDP500 ||
		   transport == IPVSA_GATE_UDP4500;
	__be16 port = htons(transport == IPVSA_GATE_UDP500 ?
			    IPVSA_ISAKMP_PORT : IPVSA_NATT_PORT);
	const struct ipvsa_test_ip4 d = {
		.saddr = reply ? IPVSA_TEST_VIP : IPVSA_TEST_CLIENT(client),
		.daddr = reply ? IPVSA_TEST_CLIENT(client) : IPVSA_TEST_VIP,
		.ttl = 64,
		.protocol = udp ? IPPROTO_UDP :
			    transport == IPVSA_GATE_AH ? IPPROTO_AH : IPPROTO_ESP,
		.sport = port,
		.dport = port,
		.udp_len = sizeof(struct udphdr) + len + udp_len_delta,
	};
	unsigned int verdict = NF_ACCEPT;
	struct sk_buff *skb;

	skb = ipvsa_test_ip4_skb(&d, payload, len);
	if (!skb)
		return -ENOMEM;

	rcu_read_lock();
	if (reply)
		ipvsa_gate_learn(g, skb, NFPROTO_IPV4);
	else
		verdict = ipvsa_gate_packet(g, skb, NFPROTO_IPV4);
	rcu_read_unlock();
	kfree_skb(skb);
	return verdict;
}

void ipvsa_test_gate_advance(void *gate, u32 seconds, bool collect)
{
	struct ipvsa_gate *g = gate;

	WRITE_ONCE(g->skew, g->skew + seconds);
	if (collect)
		ipvsa_gate_collect(g);
}

u64 ipvsa_test_gate_counter(void *gate, u32 idx)
{
	struct ipvsa_gate *g = gate;

	return idx < IPVSA_GCNT_MAX ? atomic64_read(&g->cnt[idx]) : 0;
}

void ipvsa_test_gate_counts(void *gate, u32 *entries, u32 *initial, u32 *soft)
{
	struct ipvsa_gate *g = gate;
	struct ipvsa_gate_svcs *svcs;

	spin_lock_bh(&g->lock);
	*entries = g->entries;
	*initial = g->initial;
	svcs = rcu_dereference_protected(g->svcs, 1);
	*soft = svcs && svcs->n ? svcs->svc[0]->soft : 0;
	spin_unlock_bh(&g->lock);
}
#endif
