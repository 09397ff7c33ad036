/* SPDX-License-Identifier: GPL-2.0 */
#ifndef RL_CRC32C_H
#define RL_CRC32C_H
#include <stddef.h>
#include <stdint.h>
/* Raw CRC-32C (Castagnoli, reflected) update, no pre/post inversion. */
uint32_t crc32c_raw(uint32_t crc, const void *buf, size_t len);
/* The dirtylog block rule: crc32c(~0, b[4..4096)) ^ ~0. */
uint32_t lm_block_csum(const void *block, size_t block_size);
#endif
