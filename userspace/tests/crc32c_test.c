// SPDX-License-Identifier: GPL-2.0
#include <stdint.h>

#include "crc32c.h"
#include "meta.h"
#include "tap.h"

int main(void)
{
	uint8_t buf[LM_BLOCK_SIZE], zeros[32] = { 0 }, ones[32], inc[32];
	uint32_t c;

	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	is_int(crc32c("123456789", 9), 0xE3069283u, "crc32c(\"123456789\") = 0xE3069283");
	is_int(crc32c("", 0), 0, "crc32c of nothing is 0");
	is_int(crc32c(zeros, 32), 0x8A9136AAu, "RFC 3720 32 zero bytes");
	is_int(crc32c(ones, 32), 0x62A8AB43u, "RFC 3720 32 0xff bytes");
	is_int(crc32c(inc, 32), 0x46DD794Eu, "RFC 3720 incrementing bytes");
	c = crc32c_update(0xFFFFFFFFu, "1234", 4);
	c = crc32c_update(c, "56789", 5);
	is_int(c ^ 0xFFFFFFFFu, 0xE3069283u, "incremental update equals one shot");
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	is_int(block_csum(buf), crc32c(buf + 4, LM_BLOCK_SIZE - 4),
	       "block csum = crc32c(~0, bytes[4..4096)) ^ ~0");
	buf[0] ^= 0xff;
	is_int(block_csum(buf), crc32c(buf + 4, LM_BLOCK_SIZE - 4),
	       "block csum ignores the csum field");
	return tap_done();
}
