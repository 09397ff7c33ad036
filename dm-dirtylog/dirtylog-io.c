// SPDX-License-Identifier: GPL-2.0
/*
 * dm-dirtylog: checksums and synchronous block I/O on the metadata device.
 *
 * Every metadata transfer stages its blocks in pages (log->pages, the
 * preallocated ones, or pages a large write took without waiting; pages[i]
 * holds the block for blocks[i]) and allocates its bios from the log's own
 * bio_set, so a commit makes progress under memory pressure.
 */
#include <linux/crc32.h>
#include <linux/crc32c.h>
#include <linux/device-mapper.h>

#include "dirtylog-internal.h"

#define LM_TAIL_LEN	(LM_BLOCK_SIZE - LM_BITMAP_HEADER_SIZE)

/* crc32c (seed 0, no final inversion) of an all-zero and an all-ones tail */
static u32 lm_tail_crc[2];

void lm_csum_init(void)
{
	u8 chunk[64];
	unsigned int i, k, n;

	for (k = 0; k < 2; k++) {
		memset(chunk, k ? 0xff : 0, sizeof(chunk));
		lm_tail_crc[k] = 0;
		for (i = 0; i < LM_TAIL_LEN; i += n) {
			n = min_t(unsigned int, sizeof(chunk), LM_TAIL_LEN - i);
			lm_tail_crc[k] = crc32c(lm_tail_crc[k], chunk, n);
		}
	}
}

/*
 * The contract's rule, shared with userspace: crc32c(~0, [4, 4096)) ^ ~0.
 *
 * Most bitmap blocks are all dirty (a new log) or all clean (a synced one),
 * and a 64 TiB log at 64 KiB regions has 32k of them to checksum on every
 * open.  For a block whose tail past the header is uniform, the tail's crc
 * is known: checking that takes a memchr_inv, and the crc of the header is
 * then extended over the tail's length and combined with it (crc32c is
 * linear).  The result is the same value the full crc gives.
 */
u32 lm_csum(const void *block)
{
	const void *tail = block + LM_BITMAP_HEADER_SIZE;
	u32 crc = crc32c(~0U, block + sizeof(__le32),
			 LM_BITMAP_HEADER_SIZE - sizeof(__le32));
	unsigned int k;

	for (k = 0; k < 2; k++)
		if (!memchr_inv(tail, k ? 0xff : 0, LM_TAIL_LEN))
			return __crc32c_le_combine(crc, lm_tail_crc[k],
						   LM_TAIL_LEN) ^ ~0U;
	return crc32c(crc, tail, LM_TAIL_LEN) ^ ~0U;
}

struct lm_io_batch {
	atomic_t pending;
	blk_status_t status;
	struct completion done;
};

static void lm_end_io(struct bio *bio)
{
	struct lm_io_batch *batch = bio->bi_private;

	/* Any error fails the whole batch, which one is irrelevant. */
	if (bio->bi_status)
		WRITE_ONCE(batch->status, bio->bi_status);
	bio_put(bio);
	if (atomic_dec_and_test(&batch->pending))
		complete(&batch->done);
}

/*
 * Transfer pages[0..n) to or from metadata blocks blocks[0..n) and wait for
 * all of it: every bio is submitted before the first wait, so the blocks of
 * one batch are written concurrently.  Runs of consecutive block numbers
 * share one bio, so a commit of neighbouring blocks costs one request, not
 * one per block.  Returns 0 or a negative errno.
 */
int lm_io_pages(struct dirtylog *log, blk_opf_t opf, const u64 *blocks,
		struct page **pages, unsigned int n)
{
	struct lm_io_batch batch;
	unsigned int i = 0, j, run;
	struct bio *bio;

	BUILD_BUG_ON(PAGE_SIZE < LM_BLOCK_SIZE);

	atomic_set(&batch.pending, 1);
	batch.status = BLK_STS_OK;
	init_completion(&batch.done);

	while (i < n) {
		run = 1;
		while (i + run < n && run < BIO_MAX_VECS &&
		       blocks[i + run] == blocks[i] + run)
			run++;

		/* From our own pool with a sleeping mask: cannot fail. */
		bio = bio_alloc_bioset(log->bdev, run, opf, GFP_NOIO, &log->bs);
		bio->bi_iter.bi_sector = blocks[i] * LM_BLOCK_SECTORS;
		bio->bi_end_io = lm_end_io;
		bio->bi_private = &batch;
		for (j = 0; j < run; j++)
			__bio_add_page(bio, pages[i + j], LM_BLOCK_SIZE, 0);

		atomic_inc(&batch.pending);
		submit_bio(bio);
		i += run;
	}

	if (!atomic_dec_and_test(&batch.pending))
		wait_for_completion_io(&batch.done);

	return blk_status_to_errno(READ_ONCE(batch.status));
}

/* lm_io_pages() on the log's own preallocated pages. */
int lm_io(struct dirtylog *log, blk_opf_t opf, const u64 *blocks,
	  unsigned int n)
{
	if (WARN_ON_ONCE(n > LM_IO_PAGES))
		return -EINVAL;
	return lm_io_pages(log, opf, blocks, log->pages, n);
}
