/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LM_CRC32C_H
#define LM_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Raw update, like the kernel's crc32c(seed, buf, len): no inversions. */
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len);
/* Standard CRC-32C: crc32c_update(~0, ...) ^ ~0. */
uint32_t crc32c(const void *buf, size_t len);

#endif
