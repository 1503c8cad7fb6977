/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ip_vs_sync_auth: one-line C helpers for src/kapi/ (defined in
 * ip_vs_sync_auth_shim.c), the way the files in rust/helpers/ are for the
 * kernel crate. Each wraps what Rust cannot call or read itself, and its
 * comment says which: a static inline function or a macro (bindgen emits
 * no symbol for them), a bitfield, or a field of a structure the kernel
 * crate's bindings have opaque. Exported functions and plain fields are
 * used from Rust directly.
 */
#ifndef _IP_VS_SYNC_AUTH_KAPI_HELPERS_H
#define _IP_VS_SYNC_AUTH_KAPI_HELPERS_H

#include <linux/sockptr.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>

struct net;
struct nf_hook_entries;
struct nf_hook_state;
struct sk_buff;
struct sock;

/* net_generic() (static inline): a namespace's per-subsystem data. */
void *ipvsa_net_generic(const struct net *net, unsigned int id);
/* copy_from_sockptr() (static inline): a sockopt argument, user or kernel. */
int ipvsa_copy_from_sockptr(void *dst, sockptr_t src, size_t size);
/* memzero_explicit() (inline): zeroes secrets the compiler must not skip. */
void ipvsa_memzero_explicit(void *p, size_t n);

/* Crypto API (include/crypto/hash.h): inlines and a macro. */
struct crypto_shash;
/*
 * Bytes of the shash descriptor src/kapi/hmac.rs builds on its stack:
 * sizeof(struct shash_desc) + HASH_MAX_DESCSIZE, what SHASH_DESC_ON_STACK()
 * (a macro) declares; a static_assert in ip_vs_sync_auth_shim.c ties them.
 */
#define IPVSA_SHASH_DESC_SIZE 377
/* crypto_free_shash() (inline). */
void ipvsa_crypto_free_shash(struct crypto_shash *tfm);
/* crypto_shash_digestsize(), crypto_shash_descsize() (inlines). */
unsigned int ipvsa_crypto_shash_digestsize(struct crypto_shash *tfm);
unsigned int ipvsa_crypto_shash_descsize(struct crypto_shash *tfm);

/*
 * Packets (include/linux/skbuff.h): static inlines. Plain fields (len,
 * data, the header offsets, the shared info's) Rust reads itself, and
 * sk_buff's bitfields through the accessors bindgen generates for them
 * (src/kapi/skb.rs).
 */
/* consume_skb() (an inline without tracepoints). */
void ipvsa_consume_skb(struct sk_buff *skb);
/*
 * The hooks @state runs (IPv4 or IPv6, its hook number), as nf_hook()
 * (inline) finds them: rcu_dereference() is a macro, and on the debug
 * and KASAN kernels (CONFIG_PROVE_RCU) checks that the RCU read side is
 * held.
 */
struct nf_hook_entries *ipvsa_nf_hook_entries(const struct nf_hook_state *state);
/*
 * @state->okfn with bottom halves off, as nf_reinject() calls it (a hook
 * may run in process context, after a queue's verdict): local_bh_disable()
 * and local_bh_enable() are inline, and which functions they call depends
 * on the configuration (CONFIG_TRACE_IRQFLAGS, PREEMPT_RT).
 */
int ipvsa_nf_okfn_bh(const struct nf_hook_state *state, struct sk_buff *skb);

/* Sockets (include/net/sock.h, inet_sock.h): inlines, macros, bitfields. */
/* sock_net() (inline): the socket's namespace. */
struct net *ipvsa_sock_net(const struct sock *sk);
/* sk->sk_protocol, sk->sk_family (kernel::bindings has struct sock opaque). */
u16 ipvsa_sk_protocol(const struct sock *sk);
u16 ipvsa_sk_family(const struct sock *sk);
/* sk->sk_state == TCP_ESTABLISHED (struct sock opaque): for UDP, connected. */
bool ipvsa_sk_established(const struct sock *sk);
/* inet_sk(sk)->inet_dport, ->inet_daddr (network order), sk->sk_v6_daddr. */
__be16 ipvsa_sk_dport(const struct sock *sk);
__be32 ipvsa_sk_daddr(const struct sock *sk);
const u8 *ipvsa_sk_v6_daddr(const struct sock *sk);
/* sk_fullsock() (inline). */
bool ipvsa_sk_fullsock(const struct sock *sk);
/* sk->sk_kern_sock (a bitfield of full sockets). */
bool ipvsa_sk_kern_sock(const struct sock *sk);
/* spin_lock_bh(), spin_trylock_bh(), spin_unlock_bh() (inlines). */
void ipvsa_spin_lock_bh(spinlock_t *lock);
int ipvsa_spin_trylock_bh(spinlock_t *lock);
void ipvsa_spin_unlock_bh(spinlock_t *lock);

/* The IPsec gate (src/gate.rs). */
/* div_u64(get_jiffies_64(), HZ) (inlines): the gate's clock, seconds. */
u64 ipvsa_uptime_secs(void);
/* icmp_send() (inline: passes IPCB(skb)->opt). */
void ipvsa_icmp_send(struct sk_buff *skb, int type, int code);
/* icmpv6_send() (inline: passes IP6CB(skb)). */
void ipvsa_icmpv6_send(struct sk_buff *skb, u8 type, u8 code, u32 info);

/* IPVS connections (include/net/ip_vs.h): inlines and fields of an opaque type. */
struct ip_vs_conn;
struct ip_vs_conn_param;
struct netns_ipvs;
union nf_inet_addr;
/* ip_vs_conn_fill_param() (inline). */
void ipvsa_ip_vs_conn_fill_param(struct netns_ipvs *ipvs, int af, int protocol,
				 const union nf_inet_addr *caddr, __be16 cport,
				 const union nf_inet_addr *vaddr, __be16 vport,
				 struct ip_vs_conn_param *p);
/* cp->flags (struct ip_vs_conn opaque, below). */
u32 ipvsa_ip_vs_conn_flags(const struct ip_vs_conn *cp);
/* atomic_read(&cp->in_pkts) (inline). */
int ipvsa_ip_vs_conn_in_pkts(const struct ip_vs_conn *cp);
/* sysctl_sync_threshold() (inline). */
int ipvsa_ip_vs_sync_threshold(struct netns_ipvs *ipvs);
/* __ip_vs_conn_put() (inline). */
void ipvsa_ip_vs_conn_put(struct ip_vs_conn *cp);
/*
 * cp->daf, cp->daddr: the real server. struct ip_vs_conn is opaque to Rust
 * by src/Kbuild's choice (--opaque-type): bindgen would otherwise describe
 * it and the types it holds for these two fields and the flags.
 */
u8 ipvsa_ip_vs_conn_daf(const struct ip_vs_conn *cp);
void ipvsa_ip_vs_conn_daddr(const struct ip_vs_conn *cp, union nf_inet_addr *daddr);
/* cond_resched() (a macro). */
void ipvsa_cond_resched(void);

/*
 * The module parameter ipsec_table_bits (module_param_named(), a macro). In
 * C because the kernel crate's parameters (7.3) take one value: a second
 * one (/etc/modprobe.d and the modprobe command line) fails the load with
 * EEXIST, where a C parameter takes the last; and they have no sysfs file.
 */
unsigned int ipvsa_ipsec_table_bits(void);

/* seq_file_net() (inline): the namespace of a proc_create_net() file. */
struct seq_file;
struct net *ipvsa_seq_file_net(struct seq_file *seq);

/*
 * Test packets only (src/kapi/testskb.rs): skb_add_rx_frag() and the
 * checksum functions the checks compare with, csum_tcpudp_magic() and
 * ip_fast_csum() (arch inlines, in assembly on x86).
 */
struct page;
void ipvsa_skb_add_rx_frag(struct sk_buff *skb, int i, struct page *page, int off,
			   int size, unsigned int truesize);
__sum16 ipvsa_csum_tcpudp_magic(__be32 saddr, __be32 daddr, u32 len, u8 proto, __wsum sum);
__sum16 ipvsa_ip_fast_csum(const void *iph, unsigned int ihl);

#endif
