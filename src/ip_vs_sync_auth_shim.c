// SPDX-License-Identifier: GPL-2.0
/*
 * ip_vs_sync_auth: C side of the module. One-line wrappers around static
 * inline kernel functions and macros the Rust code cannot call directly;
 * see ip_vs_sync_auth_shim.h for the contract of each function.
 */

#include <crypto/hash.h>
#include <crypto/md5.h>
#include <crypto/utils.h>
#include <linux/err.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <net/ip_vs.h>

#include "ip_vs_sync_auth_shim.h"

struct crypto_shash *ipvsa_hmac_md5_alloc(void)
{
	return crypto_alloc_shash("hmac(md5)", 0, 0);
}

int ipvsa_hmac_setkey(struct crypto_shash *tfm, const u8 *key, u32 keylen)
{
	return crypto_shash_setkey(tfm, key, keylen);
}

int ipvsa_hmac_digest(struct crypto_shash *tfm, const struct ipvsa_buf *parts,
		      u32 nparts, u8 *out)
{
	SHASH_DESC_ON_STACK(desc, tfm);
	int err;
	u32 i;

	if (nparts > IPVSA_HMAC_MAX_PARTS ||
	    crypto_shash_digestsize(tfm) != IPVSA_HMAC_MD5_DIGEST_SIZE)
		return -EINVAL;

	desc->tfm = tfm;
	/* One part: one call. Several: the last one with finup. */
	if (nparts == 1) {
		err = crypto_shash_digest(desc, parts[0].data, parts[0].len, out);
	} else {
		err = crypto_shash_init(desc);
		for (i = 0; !err && i + 1 < nparts; i++)
			err = crypto_shash_update(desc, parts[i].data, parts[i].len);
		if (!err)
			err = nparts ? crypto_shash_finup(desc, parts[i].data,
							  parts[i].len, out) :
				       crypto_shash_final(desc, out);
	}
	/*
	 * On success crypto_shash_digest() and _finup() have zeroed the state
	 * (derived from the key) already; after an error it may remain.
	 */
	if (err)
		shash_desc_zero(desc);
	return err;
}

void ipvsa_hmac_free(struct crypto_shash *tfm)
{
	crypto_free_shash(tfm);
}

int ipvsa_memneq(const void *a, const void *b, u32 len)
{
	return crypto_memneq(a, b, len);
}

u64 ipvsa_ktime_ns(void)
{
	return ktime_get_ns();
}

u64 ipvsa_real_ns(void)
{
	return ktime_get_real_ns();
}

u64 ipvsa_bench_shash(struct crypto_shash *tfm, const u8 *buf, u32 len,
		      u32 iters)
{
	u8 out[IPVSA_HMAC_MD5_DIGEST_SIZE];
	u64 t0 = ktime_get_ns();
	u32 i;

	for (i = 0; i < iters; i++)
		crypto_shash_tfm_digest(tfm, buf, len, out);
	return ktime_get_ns() - t0;
}

u64 ipvsa_bench_lib(const u8 *key, u32 keylen, const u8 *buf, u32 len,
		    u32 iters)
{
	u8 out[MD5_DIGEST_SIZE];
	struct hmac_md5_key k;
	u64 t0, t;
	u32 i;

	hmac_md5_preparekey(&k, key, keylen);
	t0 = ktime_get_ns();
	for (i = 0; i < iters; i++)
		hmac_md5(&k, buf, len, out);
	t = ktime_get_ns() - t0;
	memzero_explicit(&k, sizeof(k));
	return t;
}

const char *ipvsa_ip_vs_proto_name(u32 proto)
{
	return ip_vs_proto_name(proto);
}
