// SPDX-License-Identifier: GPL-2.0
/*
 * ip_vs_sync_auth: test packets for the KUnit suites and the benchmark
 * (src/kapi/skb.rs, TestSkb): IPv4 datagrams built the way the stack
 * hands them to a hook, and the checks of a sync datagram after a path of
 * src/sync_net.rs ran on it. Test code only: the paths themselves are Rust.
 */

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/ipv6.h>
#include <linux/net.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/sock.h>

#include "ip_vs_sync_auth_shim.h"
#include "kapi_helpers.h"

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

struct sk_buff *ipvsa_test_sync_skb(u32 kind, const u8 *msg, u32 len,
				    struct sk_buff **clone)
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
	struct sk_buff *skb;

	*clone = NULL;
	skb = ipvsa_test_ip4_skb(&d, msg,
				 layout == IPVSA_TEST_SKB_SHORT ? len / 2 : len);
	if (skb && layout == IPVSA_TEST_SKB_CLONED) {
		*clone = skb_clone(skb, GFP_KERNEL);
		if (!*clone) {
			kfree_skb(skb);
			return NULL;
		}
	}
	return skb;
}

void ipvsa_test_skb_free(struct sk_buff *skb)
{
	kfree_skb(skb);
}

#if IS_ENABLED(CONFIG_KUNIT)
int ipvsa_test_sync_check(struct sk_buff *skb, struct sk_buff *clone, bool tx,
			  u32 kind, const u8 *msg, u32 len, u8 *out,
			  u32 out_size)
{
	const unsigned int thoff = sizeof(struct iphdr);
	struct iphdr *iph;
	struct udphdr *uh;
	unsigned int ulen;
	int ret;

	/* Headers must describe the new datagram exactly. */
	iph = ip_hdr(skb);
	uh = (struct udphdr *)(skb->data + thoff);
	ulen = ntohs(uh->len);
	ret = -EPROTO;
	if (skb_is_nonlinear(skb) || ntohs(iph->tot_len) != skb->len ||
	    ip_fast_csum(iph, iph->ihl) || thoff + ulen != skb->len)
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
				     skb_checksum(skb, thoff, ulen, 0))) {
		goto out;
	}
	if (tx && iph->ttl != 255)
		goto out;
	/* The backup moved the headers, not the entries: offsets follow. */
	if (skb_network_header(skb) != skb->data ||
	    skb_transport_header(skb) != skb->data + thoff ||
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
	return ret;
}

struct sk_buff *ipvsa_test_sock_skb(u32 kind, struct socket **sockp)
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
	static const u8 msg[8] = { 0, 150, 0, 8, 0, 1, 0, 0 };
	struct sk_buff *skb;
	struct socket *sock;
	int ret;

	ret = kind == IPVSA_TEST_SOCK_USER ?
		sock_create(AF_INET, SOCK_DGRAM, IPPROTO_UDP, &sock) :
		sock_create_kern(&init_net, AF_INET, SOCK_DGRAM, IPPROTO_UDP, &sock);
	if (ret)
		return NULL;
	if (kind == IPVSA_TEST_SOCK_OTHER_PORT)
		sin.sin_port = htons(8849);
	if (kind == IPVSA_TEST_SOCK_OTHER_GROUP)
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
	if (kind != IPVSA_TEST_SOCK_UNCONNECTED &&
	    kernel_connect(sock, (struct sockaddr_unsized *)&sin, sizeof(sin), 0))
		goto release;
	skb = ipvsa_test_ip4_skb(&d, msg, sizeof(msg));
	if (!skb)
		goto release;
	/* Borrowed for the check only: not charged to the socket. */
	skb->sk = sock->sk;
	*sockp = sock;
	return skb;
release:
	sock_release(sock);
	return NULL;
}

void ipvsa_test_sock_free(struct sk_buff *skb, struct socket *sock)
{
	skb->sk = NULL;
	kfree_skb(skb);
	sock_release(sock);
}
#endif

/* The gate's test addresses (src/gate.rs, KUnit). */
#define IPVSA_TEST_VIP htonl(0xc0000201)		/* 192.0.2.1 */
#define IPVSA_TEST_CLIENT(n) htonl(0xc6336400 | (n))	/* 198.51.100.n */

struct sk_buff *ipvsa_test_gate_skb(bool reply, u8 client, u8 protocol,
				    u16 port, const u8 *payload, u32 len,
				    u32 udp_len_delta)
{
	const struct ipvsa_test_ip4 d = {
		.saddr = reply ? IPVSA_TEST_VIP : IPVSA_TEST_CLIENT(client),
		.daddr = reply ? IPVSA_TEST_CLIENT(client) : IPVSA_TEST_VIP,
		.ttl = 64,
		.protocol = protocol,
		.sport = htons(port),
		.dport = htons(port),
		.udp_len = sizeof(struct udphdr) + len + udp_len_delta,
	};

	return ipvsa_test_ip4_skb(&d, payload, len);
}

struct sk_buff *ipvsa_test_gate6_skb(u8 client, u8 protocol, u16 port,
				     u32 exthdrs, bool frag, const u8 *payload,
				     u32 len)
{
	static const u8 vip[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1 };
	unsigned int hdrs = sizeof(struct ipv6hdr) + 8 * exthdrs + (frag ? 8 : 0) +
			    (protocol == IPPROTO_UDP ? sizeof(struct udphdr) : 0);
	struct ipv6hdr *ip6h;
	struct sk_buff *skb;
	u8 *nexthdr;
	u32 i;

	if (exthdrs > 200)
		return NULL;
	skb = alloc_skb(LL_MAX_HEADER + ETH_HLEN + hdrs + len, GFP_KERNEL);
	if (!skb)
		return NULL;
	skb_reserve(skb, LL_MAX_HEADER);
	skb_reset_mac_header(skb);
	skb_put_data(skb, ipvsa_test_mac, ETH_HLEN);
	skb->mac_len = ETH_HLEN;
	__skb_pull(skb, ETH_HLEN);
	skb_reset_network_header(skb);
	ip6h = skb_put_zero(skb, sizeof(*ip6h));
	ip6h->version = 6;
	ip6h->hop_limit = 64;
	ip6h->saddr.s6_addr[0] = 0x20;
	ip6h->saddr.s6_addr[1] = 0x01;
	ip6h->saddr.s6_addr[2] = 0x0d;
	ip6h->saddr.s6_addr[3] = 0xb8;
	ip6h->saddr.s6_addr[5] = 2;
	ip6h->saddr.s6_addr[15] = client;
	memcpy(&ip6h->daddr, vip, 16);
	nexthdr = &ip6h->nexthdr;
	for (i = 0; i < exthdrs; i++) {
		u8 *h = skb_put_zero(skb, 8);

		*nexthdr = NEXTHDR_DEST;
		h[2] = 1;	/* PadN, 4 bytes */
		h[3] = 4;
		nexthdr = &h[0];
	}
	if (frag) {
		struct frag_hdr *fh = skb_put_zero(skb, sizeof(*fh));

		*nexthdr = NEXTHDR_FRAGMENT;
		fh->frag_off = htons(IP6_MF);
		fh->identification = htonl(1);
		nexthdr = &fh->nexthdr;
	}
	*nexthdr = protocol;
	if (protocol == IPPROTO_UDP) {
		struct udphdr *uh = skb_put_zero(skb, sizeof(*uh));

		uh->source = htons(port);
		uh->dest = htons(port);
		uh->len = htons(sizeof(*uh) + len);
	}
	skb_put_data(skb, payload, len);
	ip6h->payload_len = htons(skb->len - sizeof(*ip6h));
	return skb;
}
