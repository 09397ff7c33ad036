// SPDX-License-Identifier: GPL-2.0
/* Table-driven CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). */
#include "crc32c.h"

static uint32_t table[256];
static int table_ready;

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[i] = c;
	}
	table_ready = 1;
}

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!table_ready)
		crc32c_init();
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t crc32c(const void *buf, size_t len)
{
	return crc32c_update(0xFFFFFFFFu, buf, len) ^ 0xFFFFFFFFu;
}
