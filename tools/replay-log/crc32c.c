// SPDX-License-Identifier: GPL-2.0
#include "crc32c.h"

static uint32_t table[8][256];
static int ready;

static void init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (c & 1 ? 0x82F63B78U : 0);
		table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			table[j][i] = (table[j - 1][i] >> 8) ^ table[0][table[j - 1][i] & 0xff];
	ready = 1;
}

uint32_t crc32c_raw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (!ready)
		init();
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		      table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		      table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return crc;
}

uint32_t lm_block_csum(const void *block, size_t block_size)
{
	return crc32c_raw(0xFFFFFFFFU, (const unsigned char *)block + 4,
			  block_size - 4) ^ 0xFFFFFFFFU;
}
