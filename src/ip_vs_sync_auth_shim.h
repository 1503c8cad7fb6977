/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ip_vs_sync_auth: the module's user-space ABI (socket option numbers,
 * structures and counter indexes, which ipvsadm's patch and
 * tools/ipvs-ipsec follow) and constants its tests share. src/Kbuild
 * generates their Rust declarations (src/shim.rs) with bindgen. Only
 * fixed-width integers appear here, so those declarations do not depend
 * on the kernel configuration. The C helpers are declared in
 * kapi_helpers.h.
 */
#ifndef _IP_VS_SYNC_AUTH_SHIM_H
#define _IP_VS_SYNC_AUTH_SHIM_H

#include <linux/types.h>

/*
 * ---------------------------------------------------------------------------
 * Authenticated sync: the socket options' structures and constants (the
 * hooks, socket options and /proc file are Rust: src/sync_net.rs).
 * ---------------------------------------------------------------------------
 */

/* Sockopt (PF_INET, level IPPROTO_IP): set = install key / clear, get = status. */
#define IPVSA_SO_SYNC_AUTH 1168
/* Longest key accepted (the HMAC-MD5 block size). */
#define IPVSA_KEY_MAX 64
/* Sync threads per direction IPVS supports (sync_ports <= 64). */
#define IPVSA_MAX_STREAMS_PER_MASTER 64
/* Length of the auth header inserted into each message. */
#define IPVSA_AUTH_HDR_LEN 16
/* Length of the extended auth header (opt-in format). */
#define IPVSA_EXT_AUTH_HDR_LEN 24
/* Room the master needs for either header. */
#define IPVSA_AUTH_HDR_MAX 24
/*
 * Room after a message that lets the ICV input be fed to the MAC as one
 * update (a copy of the IPVS header goes there); optional on both sides.
 */
#define IPVSA_MAC_ROOM 8

/* Counter indexes (struct ipvsa_status.counters). */
#define IPVSA_CNT_TX_SIGNED 0		/* messages authenticated and sent */
#define IPVSA_CNT_TX_ERROR 1		/* master datagrams dropped: could not sign */
#define IPVSA_CNT_RX_ACCEPTED 2		/* messages verified and passed to IPVS */
#define IPVSA_CNT_RX_MALFORMED 3	/* not a complete sync datagram / too short */
#define IPVSA_CNT_RX_BAD_TTL 4		/* TTL or hop limit not 255 */
#define IPVSA_CNT_RX_BAD_HEADER 5	/* auth flag missing, size != length */
#define IPVSA_CNT_RX_REPLAY 6		/* sequence number not above the last */
#define IPVSA_CNT_RX_BAD_ICV 7		/* ICV mismatch */
#define IPVSA_CNT_RX_NO_STREAM 8	/* replay table full for a new stream */
#define IPVSA_CNT_RX_NO_KEY 9		/* a key is set, but not of the configured format */
#define IPVSA_CNT_RX_GRO_SPLIT 10	/* GRO-merged bursts split to be checked one by one */
#define IPVSA_CNT_RX_PLAIN 11		/* rollout mode: plaintext passed to IPVS unchecked */
#define IPVSA_CNT_TX_PLAIN 12		/* rollout receive-only: sent plaintext though keyed */
#define IPVSA_CNT_MAX 13
/* Counters of status version 1 (a v1 reader's buffer ends after them). */
#define IPVSA_CNT_MAX_V1 9

/*
 * Status version reported by the get sockopt (2: IPVSA_CNT_RX_NO_KEY,
 * _GRO_SPLIT; 3: IPVSA_CNT_RX_PLAIN, _TX_PLAIN). A reader's buffer may end
 * after the counters of its version.
 */
#define IPVSA_STATUS_VERSION 3

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

/*
 * Extended format (Documentation/ip_vs_sync_auth.rst, "Restart-safe
 * sequence numbers and key rollover"): setsockopt(IPPROTO_IP,
 * IPVSA_SO_SYNC_EXT, struct ipvsa_ext_cmd) configures it,
 * getsockopt(IPPROTO_IP, IPVSA_SO_SYNC_EXT) reads struct ipvsa_ext_status.
 */
#define IPVSA_SO_SYNC_EXT 1170
#define IPVSA_EXT_MODE 1	/* @id: 0 = seed format, 1 = extended format */
#define IPVSA_EXT_ADD 2		/* install key @id (the first one becomes active) */
#define IPVSA_EXT_ACTIVATE 3	/* sign with key @id from now on */
#define IPVSA_EXT_RETIRE 4	/* remove key @id (not the active one) */
#define IPVSA_EXT_CLEAR 5	/* remove every key: extended auth off */
#define IPVSA_EXT_RESET_REPLAY 6	/* forget the backup's replay state */
#define IPVSA_EXT_KEYS 2
#define IPVSA_EXT_STATUS_VERSION 1

/**
 * struct ipvsa_ext_cmd - argument of setsockopt(IPVSA_SO_SYNC_EXT)
 * @op: IPVSA_EXT_*
 * @id: key ID (1..255) or mode
 * @keylen: bytes of @key used (IPVSA_EXT_ADD: 1..IPVSA_KEY_MAX, else 0)
 * @key: key material; zeroed by the kernel after use
 */
struct ipvsa_ext_cmd {
	u32 op;
	u32 id;
	u32 keylen;
	u8 key[IPVSA_KEY_MAX];
};

/**
 * struct ipvsa_ext_key_status - one installed key (never its material)
 * @id: key ID, 0 for a free slot
 * @active: 1 if this key signs
 * @tx_signed: messages signed with it since it was installed
 * @rx_accepted: messages verified with it since it was installed
 */
struct ipvsa_ext_key_status {
	u32 id;
	u32 active;
	u64 tx_signed;
	u64 rx_accepted;
};

/**
 * struct ipvsa_ext_status - result of getsockopt(IPVSA_SO_SYNC_EXT)
 * @version: IPVSA_EXT_STATUS_VERSION
 * @mode: 0 seed format, 1 extended format
 * @streams: senders the backup holds 64-bit replay state for
 * @rx_unknown_key: messages dropped for naming a key not installed
 * @keys: the key slots
 */
struct ipvsa_ext_status {
	u32 version;
	u32 mode;
	u32 streams;
	u32 pad;
	u64 rx_unknown_key;
	struct ipvsa_ext_key_status keys[IPVSA_EXT_KEYS];
};

/*
 * ---------------------------------------------------------------------------
 * IPsec gate (src/gate.rs): ISAKMP entries that ESP/AH to a marked virtual
 * address must follow. Only its socket option's ABI is here.
 * ---------------------------------------------------------------------------
 */

/* Sockopt (PF_INET, level IPPROTO_IP): set = struct ipvsa_ipsec_cmd,
 * get = struct ipvsa_ipsec_status. */
#define IPVSA_SO_IPSEC 1169
#define IPVSA_IPSEC_ADD 1	/* mark a virtual address (or update it) */
#define IPVSA_IPSEC_DEL 2	/* unmark it, dropping its entries */
#define IPVSA_IPSEC_FLUSH 3	/* unmark every virtual address */
/* Flags of a service: IPVS forwards it in NAT mode (learn the cookie). */
#define IPVSA_IPSEC_F_NAT 0x1
/* Virtual addresses one network namespace may mark. */
#define IPVSA_IPSEC_MAX_SVC 16
#define IPVSA_IPSEC_STATUS_VERSION 3

/**
 * struct ipvsa_ipsec_cmd - argument of setsockopt(IPVSA_SO_IPSEC)
 * @cmd: IPVSA_IPSEC_ADD, _DEL or _FLUSH
 * @af: AF_INET or AF_INET6 (ignored by _FLUSH)
 * @vip: virtual address, network byte order (IPv4 in the first 4 bytes)
 * @flags: IPVSA_IPSEC_F_*
 * @soft_quota: established entries that may outlive their timeout
 */
struct ipvsa_ipsec_cmd {
	u32 cmd;
	u32 af;
	u8 vip[16];
	u32 flags;
	u32 soft_quota;
};

/* Events counted per packet (proto::isakmp::GateEvent::index()). */
#define IPVSA_GEV_INITIAL_CREATED 3
#define IPVSA_GEV_ISAKMP_NO_INITIAL 7
#define IPVSA_GEV_ESTABLISHED 8
#define IPVSA_GEV_ESTABLISHED_REFRESH 10
#define IPVSA_GEV_ESP_NO_ENTRY 12
#define IPVSA_GEV_ESP_PASS 14
#define IPVSA_GEV_MAX 16
/* Counters kept outside the state machine, after the events. */
#define IPVSA_GCNT_MALFORMED (IPVSA_GEV_MAX + 0)	/* bad IP/UDP header */
#define IPVSA_GCNT_FAILOVER (IPVSA_GEV_MAX + 1)	/* ESTABLISHED from a synced IPVS entry */
#define IPVSA_GCNT_LEARNED (IPVSA_GEV_MAX + 2)	/* NAT: responder cookie learned */
#define IPVSA_GCNT_SOFT_EXTENDED (IPVSA_GEV_MAX + 3)	/* soft expiry granted */
#define IPVSA_GCNT_EXPIRED (IPVSA_GEV_MAX + 4)	/* entries removed by the collector */
#define IPVSA_GCNT_NOMEM (IPVSA_GEV_MAX + 5)	/* entry allocation failed: dropped */
#define IPVSA_GCNT_FRAGMENT (IPVSA_GEV_MAX + 6)	/* unreassembled fragment: dropped */
#define IPVSA_GCNT_PREFIX_INITIAL_CAP (IPVSA_GEV_MAX + 7)	/* source prefix's INITIAL cap */
#define IPVSA_GCNT_PREFIX_CAP (IPVSA_GEV_MAX + 8)	/* source prefix's entry cap */
#define IPVSA_GCNT_EVICTED (IPVSA_GEV_MAX + 9)	/* entries evicted to make room */
#define IPVSA_GCNT_GRO_SPLIT (IPVSA_GEV_MAX + 10)	/* merged bursts split to judge each datagram */
#define IPVSA_GCNT_MAX (IPVSA_GEV_MAX + 11)

/**
 * struct ipvsa_ipsec_svc_info - one marked virtual address, for status
 * @af: AF_INET or AF_INET6
 * @vip: the address
 * @flags: IPVSA_IPSEC_F_*
 * @soft_quota: soft expiry quota
 * @entries: entries of this address in the table
 * @soft: of which living past their timeout
 */
struct ipvsa_ipsec_svc_info {
	u32 af;
	u8 vip[16];
	u32 flags;
	u32 soft_quota;
	u32 entries;
	u32 soft;
};

/**
 * struct ipvsa_ipsec_status - result of getsockopt(IPVSA_SO_IPSEC)
 * @version: IPVSA_IPSEC_STATUS_VERSION
 * @nsvc: valid elements of @svc
 * @entries: entries in the table (expired ones not yet collected included)
 * @initial: of which INITIAL (what the cap counts)
 * @initial_timeout: sysctl ipsec_initial_timeout, seconds
 * @established_timeout: sysctl ipsec_established_timeout, seconds
 * @max_initial: sysctl ipsec_max_initial
 * @counters: IPVSA_GEV_* and IPVSA_GCNT_* counters of this netns
 * @svc: the marked virtual addresses
 */
struct ipvsa_ipsec_status {
	u32 version;
	u32 nsvc;
	u32 entries;
	u32 initial;
	u32 initial_timeout;
	u32 established_timeout;
	u32 max_initial;
	u32 pad;
	u64 counters[IPVSA_GCNT_MAX];
	struct ipvsa_ipsec_svc_info svc[IPVSA_IPSEC_MAX_SVC];
};

/* KUnit and the benchmark: skb layouts TestSkb::sync() builds (src/kapi/testskb.rs). */
#define IPVSA_TEST_SKB_LINEAR 0
#define IPVSA_TEST_SKB_CLONED 1		/* another reference to the same data */
#define IPVSA_TEST_SKB_PAGED 2		/* payload in a page fragment */
#define IPVSA_TEST_SKB_SHORT 3		/* UDP length beyond the data */
/*
 * ... ORed with how the UDP checksum arrives (default: a full, valid one,
 * CHECKSUM_NONE, as from the wire or from a device without offload).
 */
#define IPVSA_TEST_SKB_CSUM_ZERO 0x10	/* IPv4 "no checksum" (0) */
#define IPVSA_TEST_SKB_CSUM_PARTIAL 0x20 /* CHECKSUM_PARTIAL, as IPVS sends */

#endif /* _IP_VS_SYNC_AUTH_SHIM_H */
