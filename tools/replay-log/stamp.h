/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Self-describing 4 KiB data blocks written by crash-writer and checked by
 * crash-check: "LMCRASH1", le64 block number on the device, le64 write
 * sequence number (0 = initial fill), le32 crc32c of the block with the crc
 * field zero, then pseudo-random payload derived from (block, seq).
 */
#ifndef RL_STAMP_H
#define RL_STAMP_H
#include <stdint.h>
#include <string.h>
#include "crc32c.h"

#define STAMP_BLOCK	4096
#define STAMP_MAGIC	"LMCRASH1"

static inline void stamp_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t stamp_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline void stamp_make(uint8_t *b, uint64_t blk, uint64_t seq)
{
	uint64_t x = (blk + 1) * 0x9E3779B97F4A7C15ULL ^ (seq + 1) * 0xC2B2AE3D27D4EB4FULL;
	uint32_t crc;

	memcpy(b, STAMP_MAGIC, 8);
	stamp_put64(b + 8, blk);
	stamp_put64(b + 16, seq);
	memset(b + 24, 0, 8);
	for (int i = 32; i < STAMP_BLOCK; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		stamp_put64(b + i, x);
	}
	crc = crc32c_raw(~0U, b, STAMP_BLOCK);
	b[24] = (uint8_t)crc;
	b[25] = (uint8_t)(crc >> 8);
	b[26] = (uint8_t)(crc >> 16);
	b[27] = (uint8_t)(crc >> 24);
}

/* 0 and *seq when b is a valid stamp for block blk, -1 otherwise. */
static inline int stamp_check(const uint8_t *b, uint64_t blk, uint64_t *seq)
{
	uint8_t hdr[32];
	uint32_t crc, want;

	if (memcmp(b, STAMP_MAGIC, 8) || stamp_get64(b + 8) != blk)
		return -1;
	want = (uint32_t)b[24] | (uint32_t)b[25] << 8 | (uint32_t)b[26] << 16 |
	       (uint32_t)b[27] << 24;
	memcpy(hdr, b, 32);
	memset(hdr + 24, 0, 4);
	crc = crc32c_raw(~0U, hdr, 32);
	crc = crc32c_raw(crc, b + 32, STAMP_BLOCK - 32);
	if (crc != want)
		return -1;
	*seq = stamp_get64(b + 16);
	return 0;
}
#endif
