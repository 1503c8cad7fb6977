/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ip_vs_sync_auth: the kernel headers whose items the module binds itself
 * (src/kapi/bindings.rs), because the kernel crate's bindings do not have
 * them: netfilter hooks and sockopts, per-namespace data, /proc, IPVS's
 * per-namespace state, shash transforms and the HMAC-MD5 library. src/Kbuild runs bindgen on this file with an
 * allowlist of what the module uses; every type the kernel crate already
 * has comes from kernel::bindings, so that struct sk_buff, struct net and
 * the rest stay one type.
 */
#include <crypto/hash.h>
#include <crypto/md5.h>
#include <crypto/utils.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/proc_fs.h>
#include <net/gso.h>
#include <net/ip_vs.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>

#include "kapi_helpers.h"
