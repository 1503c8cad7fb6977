// SPDX-License-Identifier: GPL-2.0
/*
 * ip_vs_sync_auth: C side of the module. One-line wrappers around static
 * inline kernel functions and macros the Rust code cannot call directly;
 * see ip_vs_sync_auth_shim.h for the contract of each function.
 */

#include <crypto/hash.h>
#include <crypto/utils.h>
#include <linux/err.h>
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
	err = crypto_shash_init(desc);
	for (i = 0; !err && i < nparts; i++)
		err = crypto_shash_update(desc, parts[i].data, parts[i].len);
	if (!err)
		err = crypto_shash_final(desc, out);
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

const char *ipvsa_ip_vs_proto_name(u32 proto)
{
	return ip_vs_proto_name(proto);
}
