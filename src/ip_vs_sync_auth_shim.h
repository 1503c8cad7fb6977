/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ip_vs_sync_auth: the narrow C interface between the Rust module and the
 * kernel headers Rust-for-Linux does not bind (crypto/hash.h, net/ip_vs.h,
 * netfilter). Only opaque pointers and fixed-width integers cross it, so the
 * Rust declarations bindgen generates from this header do not depend on the
 * kernel configuration.
 *
 * Every function here is callable from process and softirq context unless
 * its comment says otherwise.
 */
#ifndef _IP_VS_SYNC_AUTH_SHIM_H
#define _IP_VS_SYNC_AUTH_SHIM_H

#include <linux/types.h>

struct crypto_shash;

/** Size in bytes of an HMAC-MD5 digest. */
#define IPVSA_HMAC_MD5_DIGEST_SIZE 16
/** Maximum number of parts one ipvsa_hmac_digest() call hashes. */
#define IPVSA_HMAC_MAX_PARTS 8

/**
 * struct ipvsa_buf - one contiguous part of a MAC input
 * @data: first byte (may be NULL when @len is 0)
 * @len: length in bytes
 */
struct ipvsa_buf {
	const u8 *data;
	u32 len;
};

/*
 * Allocates an hmac(md5) shash transform. Process context only (may load a
 * module). Returns the transform or an ERR_PTR().
 */
struct crypto_shash *ipvsa_hmac_md5_alloc(void);

/* Sets the key of a transform nobody else uses yet. Process context. */
int ipvsa_hmac_setkey(struct crypto_shash *tfm, const u8 *key, u32 keylen);

/*
 * Computes the full 16-byte HMAC of parts[0] || parts[1] || ... in that
 * order, with one crypto_shash_update() per part (the descriptor lives on
 * the stack and is zeroed afterwards). Returns 0 or a negative errno.
 */
int ipvsa_hmac_digest(struct crypto_shash *tfm, const struct ipvsa_buf *parts,
		      u32 nparts, u8 *out);

/* Frees a transform; its key material is zeroed by the crypto core. */
void ipvsa_hmac_free(struct crypto_shash *tfm);

/* Constant-time comparison: 0 if equal, 1 otherwise (crypto_memneq()). */
int ipvsa_memneq(const void *a, const void *b, u32 len);

/* Benchmark helpers (process context): monotonic ns, and the time taken by
 * @iters bare crypto_shash_tfm_digest() / lib/crypto hmac_md5() calls over
 * @len bytes -- the floors the module's paths are compared with. */
u64 ipvsa_ktime_ns(void);
u64 ipvsa_bench_shash(struct crypto_shash *tfm, const u8 *buf, u32 len,
		      u32 iters);
u64 ipvsa_bench_lib(const u8 *key, u32 keylen, const u8 *buf, u32 len,
		    u32 iters);

/*
 * Returns IPVS's name for an IP protocol. Calling into ip_vs also makes
 * modpost record the module dependency, so ip_vs always loads first.
 */
const char *ipvsa_ip_vs_proto_name(u32 proto);

/*
 * ---------------------------------------------------------------------------
 * Authenticated sync (ip_vs_sync_auth_net.c): netfilter hooks, sockopt,
 * /proc/net/ip_vs_sync_auth. The C side does the packet mechanics; every
 * decision is taken by the Rust functions ipvsa_rs_*() declared at the end.
 * ---------------------------------------------------------------------------
 */

struct net;

/* Sockopt (PF_INET, level IPPROTO_IP): set = install key / clear, get = status. */
#define IPVSA_SO_SYNC_AUTH 1168
/* Longest key accepted (the HMAC-MD5 block size). */
#define IPVSA_KEY_MAX 64
/* Sync threads per direction IPVS supports (sync_ports <= 64). */
#define IPVSA_MAX_STREAMS_PER_MASTER 64
/* Length of the auth header inserted into each message. */
#define IPVSA_AUTH_HDR_LEN 16

/* Counter indexes (struct ipvsa_status.counters). */
#define IPVSA_CNT_TX_SIGNED 0		/* messages authenticated and sent */
#define IPVSA_CNT_TX_ERROR 1		/* master datagrams dropped: could not sign */
#define IPVSA_CNT_RX_ACCEPTED 2		/* messages verified and passed to IPVS */
#define IPVSA_CNT_RX_MALFORMED 3	/* not a complete sync datagram / too short */
#define IPVSA_CNT_RX_BAD_TTL 4		/* TTL or hop limit not 255 */
#define IPVSA_CNT_RX_BAD_HEADER 5	/* auth flag missing, size != length */
#define IPVSA_CNT_RX_REPLAY 6		/* sequence number not above the last */
#define IPVSA_CNT_RX_BAD_ICV 7		/* ICV mismatch */
#define IPVSA_CNT_RX_NO_STREAM 8	/* replay table full for a new sender */
#define IPVSA_CNT_MAX 9

/* Status version reported by the get sockopt. */
#define IPVSA_STATUS_VERSION 1

/**
 * struct ipvsa_status - result of getsockopt(IPPROTO_IP, IPVSA_SO_SYNC_AUTH)
 * @version: IPVSA_STATUS_VERSION
 * @enabled: 1 if a key is set in this network namespace
 * @alg: NUL-terminated algorithm name ("hmac-md5-96"), empty if disabled
 * @streams: senders/threads the backup holds replay state for
 * @stream_capacity: maximum number of such streams
 * @counters: IPVSA_CNT_* counters since the module was loaded
 *
 * Never contains any key material.
 */
struct ipvsa_status {
	u32 version;
	u32 enabled;
	char alg[16];
	u32 streams;
	u32 stream_capacity;
	u64 counters[IPVSA_CNT_MAX];
};

/* Registers the per-netns state, hooks, sockopt and /proc file. */
int ipvsa_sync_register(void);
/* Undoes ipvsa_sync_register(). */
void ipvsa_sync_unregister(void);

/*
 * Implemented in Rust (src/glue/sync.rs). @rs is the per-netns state
 * returned by ipvsa_rs_net_init().
 */
/* Allocates the Rust per-netns state, or returns NULL. Process context. */
void *ipvsa_rs_net_init(void);
/* Frees it; no hook may be using it any more. Process context. */
void ipvsa_rs_net_exit(void *rs);
/* Whether a key is set (the hooks do nothing otherwise). Any context. */
bool ipvsa_rs_enabled(void *rs);
/*
 * Master: authenticates the plaintext message buf[0..len) in place for sync
 * thread @stream; buf has room for len + IPVSA_AUTH_HDR_LEN bytes. Returns
 * the new length, or a negative errno (counted; the datagram is dropped).
 */
int ipvsa_rs_tx(void *rs, u8 *buf, u32 len, u32 stream);
/*
 * Backup: checks the received message buf[0..len) (TTL @ttl, from @saddr,
 * 16 bytes, IPv4 in the first 4; to UDP port @dport) and strips the auth
 * header in place. Returns the plaintext length, or a negative errno
 * (counted; the datagram is dropped).
 */
int ipvsa_rs_rx(void *rs, u8 *buf, u32 len, u8 ttl, const u8 *saddr,
		bool v6, u16 dport);
/* Counts a drop the C side decided (IPVSA_CNT_*). Any context. */
void ipvsa_rs_count(void *rs, u32 counter);
/* Installs a key (1..IPVSA_KEY_MAX bytes) or clears it (len 0). Process context. */
int ipvsa_rs_set_key(void *rs, const u8 *key, u32 len);
/* Fills @st. Any context. */
void ipvsa_rs_status(void *rs, struct ipvsa_status *st);

/* KUnit only: skb layouts ipvsa_test_skb() builds. */
#define IPVSA_TEST_SKB_LINEAR 0
#define IPVSA_TEST_SKB_CLONED 1		/* another reference to the same data */
#define IPVSA_TEST_SKB_PAGED 2		/* payload in a page fragment */
#define IPVSA_TEST_SKB_SHORT 3		/* UDP length beyond the data */

/*
 * KUnit only (CONFIG_KUNIT): builds an IPv4 UDP skb to 224.0.0.81:8848 from
 * 10.0.3.1 with TTL 255 carrying @msg in layout @kind, runs the master
 * (@tx) or backup path of @rs on it, checks the resulting IP and UDP
 * lengths and checksums (and, for a clone, that the clone is untouched),
 * and copies the resulting UDP payload to @out. Returns its length, or
 * -EBADMSG if the datagram was dropped, -EPROTO if a header is wrong.
 */
int ipvsa_test_skb(void *rs, bool tx, u32 kind, const u8 *msg, u32 len,
		   u8 *out, u32 out_size);

#endif /* _IP_VS_SYNC_AUTH_SHIM_H */
