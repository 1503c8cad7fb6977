// SPDX-License-Identifier: GPL-2.0
/*
 * ip_vs_sync_auth: the module's only C. One-line wrappers, as the files
 * in rust/helpers/ are for the kernel crate, of what Rust cannot call:
 * static inline functions, macros, bitfields and fields of structures that
 * are opaque to Rust; and the module parameter ipsec_table_bits (a macro;
 * kapi_helpers.h says why not the kernel crate's). kapi_helpers.h says for
 * each which of these it is; only src/kapi/ calls them. Everything
 * exported is called from Rust directly.
 */

#include <crypto/hash.h>
#include <linux/string.h>
#include <net/ip_vs.h>

#include <linux/netfilter.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file_net.h>
#include <linux/skbuff.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/netns/generic.h>
#include <net/inet_sock.h>
#include <net/sock.h>
#include <linux/icmpv6.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <net/icmp.h>

#include "kapi_helpers.h"

/*
 * The descriptor src/kapi/hmac.rs builds on its stack is as large as the one
 * SHASH_DESC_ON_STACK() declares (a macro: Rust cannot expand it).
 */
static_assert(IPVSA_SHASH_DESC_SIZE == sizeof(struct shash_desc) + HASH_MAX_DESCSIZE);

void ipvsa_crypto_free_shash(struct crypto_shash *tfm)
{
	crypto_free_shash(tfm);
}

unsigned int ipvsa_crypto_shash_digestsize(struct crypto_shash *tfm)
{
	return crypto_shash_digestsize(tfm);
}

unsigned int ipvsa_crypto_shash_descsize(struct crypto_shash *tfm)
{
	return crypto_shash_descsize(tfm);
}

void *ipvsa_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

int ipvsa_copy_from_sockptr(void *dst, sockptr_t src, size_t size)
{
	return copy_from_sockptr(dst, src, size);
}

void ipvsa_memzero_explicit(void *p, size_t n)
{
	memzero_explicit(p, n);
}

void ipvsa_skb_add_rx_frag(struct sk_buff *skb, int i, struct page *page, int off,
			   int size, unsigned int truesize)
{
	skb_add_rx_frag(skb, i, page, off, size, truesize);
}

__sum16 ipvsa_csum_tcpudp_magic(__be32 saddr, __be32 daddr, u32 len, u8 proto, __wsum sum)
{
	return csum_tcpudp_magic(saddr, daddr, len, proto, sum);
}

__sum16 ipvsa_ip_fast_csum(const void *iph, unsigned int ihl)
{
	return ip_fast_csum(iph, ihl);
}

void ipvsa_consume_skb(struct sk_buff *skb)
{
	consume_skb(skb);
}

int ipvsa_nf_okfn_bh(const struct nf_hook_state *state, struct sk_buff *skb)
{
	int ret;

	local_bh_disable();
	ret = state->okfn(state->net, state->sk, skb);
	local_bh_enable();
	return ret;
}

struct nf_hook_entries *ipvsa_nf_hook_entries(const struct nf_hook_state *state)
{
	return state->pf == NFPROTO_IPV6 ? rcu_dereference(state->net->nf.hooks_ipv6[state->hook]) :
					   rcu_dereference(state->net->nf.hooks_ipv4[state->hook]);
}

struct net *ipvsa_sock_net(const struct sock *sk)
{
	return sock_net(sk);
}

u16 ipvsa_sk_protocol(const struct sock *sk)
{
	return sk->sk_protocol;
}

bool ipvsa_sk_established(const struct sock *sk)
{
	return READ_ONCE(sk->sk_state) == TCP_ESTABLISHED;
}

u16 ipvsa_sk_family(const struct sock *sk)
{
	return sk->sk_family;
}

__be16 ipvsa_sk_dport(const struct sock *sk)
{
	return inet_sk(sk)->inet_dport;
}

__be32 ipvsa_sk_daddr(const struct sock *sk)
{
	return inet_sk(sk)->inet_daddr;
}

const u8 *ipvsa_sk_v6_daddr(const struct sock *sk)
{
#if IS_ENABLED(CONFIG_IPV6)
	return sk->sk_v6_daddr.s6_addr;
#else
	return NULL;
#endif
}

bool ipvsa_sk_fullsock(const struct sock *sk)
{
	return sk_fullsock(sk);
}

bool ipvsa_sk_kern_sock(const struct sock *sk)
{
	return sk->sk_kern_sock;
}

void ipvsa_spin_lock_bh(spinlock_t *lock)
{
	spin_lock_bh(lock);
}

int ipvsa_spin_trylock_bh(spinlock_t *lock)
{
	return spin_trylock_bh(lock);
}

void ipvsa_spin_unlock_bh(spinlock_t *lock)
{
	spin_unlock_bh(lock);
}

u64 ipvsa_uptime_secs(void)
{
	return div_u64(get_jiffies_64(), HZ);
}

void ipvsa_icmp_send(struct sk_buff *skb, int type, int code)
{
	icmp_send(skb, type, code, 0);
}

void ipvsa_icmpv6_send(struct sk_buff *skb, u8 type, u8 code, u32 info)
{
	icmpv6_send(skb, type, code, info);
}

void ipvsa_ip_vs_conn_fill_param(struct netns_ipvs *ipvs, int af, int protocol,
				 const union nf_inet_addr *caddr, __be16 cport,
				 const union nf_inet_addr *vaddr, __be16 vport,
				 struct ip_vs_conn_param *p)
{
	ip_vs_conn_fill_param(ipvs, af, protocol, caddr, cport, vaddr, vport, p);
}

u32 ipvsa_ip_vs_conn_flags(const struct ip_vs_conn *cp)
{
	return cp->flags;
}

int ipvsa_ip_vs_conn_in_pkts(const struct ip_vs_conn *cp)
{
	return atomic_read(&cp->in_pkts);
}

int ipvsa_ip_vs_sync_threshold(struct netns_ipvs *ipvs)
{
	return sysctl_sync_threshold(ipvs);
}

void ipvsa_ip_vs_conn_put(struct ip_vs_conn *cp)
{
	__ip_vs_conn_put(cp);
}

u8 ipvsa_ip_vs_conn_daf(const struct ip_vs_conn *cp)
{
	return cp->daf;
}

void ipvsa_ip_vs_conn_daddr(const struct ip_vs_conn *cp, union nf_inet_addr *daddr)
{
	*daddr = cp->daddr;
}

void ipvsa_cond_resched(void)
{
	cond_resched();
}

struct net *ipvsa_seq_file_net(struct seq_file *seq)
{
	return seq_file_net(seq);
}

static unsigned int ipvsa_table_bits = 14;
module_param_named(ipsec_table_bits, ipvsa_table_bits, uint, 0444);
MODULE_PARM_DESC(ipsec_table_bits, "log2 of the IPsec gate's hash buckets per netns (8..20, default 14)");

unsigned int ipvsa_ipsec_table_bits(void)
{
	return READ_ONCE(ipvsa_table_bits);
}
