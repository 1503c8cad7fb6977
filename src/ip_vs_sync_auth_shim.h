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

/*
 * Returns IPVS's name for an IP protocol. Calling into ip_vs also makes
 * modpost record the module dependency, so ip_vs always loads first.
 */
const char *ipvsa_ip_vs_proto_name(u32 proto);

#endif /* _IP_VS_SYNC_AUTH_SHIM_H */
