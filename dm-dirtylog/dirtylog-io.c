// SPDX-License-Identifier: GPL-2.0
/*
 * dm-dirtylog: checksums and synchronous block I/O on the metadata device.
 *
 * Every metadata transfer stages its blocks in the log's preallocated pages
 * (log->pages[i] holds the block for blocks[i]) and allocates its bios from
 * the log's own bio_set, so a commit makes progress under memory pressure.
 */
#include <linux/crc32c.h>
#include <linux/device-mapper.h>

#include "dirtylog-internal.h"

/* The contract's rule, shared with userspace: crc32c(~0, [4, 4096)) ^ ~0. */
u32 lm_csum(const void *block)
{
	return crc32c(~0U, block + sizeof(__le32),
		      LM_BLOCK_SIZE - sizeof(__le32)) ^ ~0U;
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
 * Transfer log->pages[0..n) to or from metadata blocks blocks[0..n) and wait
 * for all of it.  Runs of consecutive block numbers share one bio, so a
 * commit of neighbouring blocks costs one request, not one per block.
 * Returns 0 or a negative errno.
 */
int lm_io(struct dirtylog *log, blk_opf_t opf, const u64 *blocks,
	  unsigned int n)
{
	struct lm_io_batch batch;
	unsigned int i = 0, j, run;
	struct bio *bio;

	BUILD_BUG_ON(PAGE_SIZE < LM_BLOCK_SIZE);
	if (WARN_ON_ONCE(n > LM_IO_PAGES))
		return -EINVAL;

	atomic_set(&batch.pending, 1);
	batch.status = BLK_STS_OK;
	init_completion(&batch.done);

	while (i < n) {
		run = 1;
		while (i + run < n && blocks[i + run] == blocks[i] + run)
			run++;

		/* From our own pool with a sleeping mask: cannot fail. */
		bio = bio_alloc_bioset(log->bdev, run, opf, GFP_NOIO, &log->bs);
		bio->bi_iter.bi_sector = blocks[i] * LM_BLOCK_SECTORS;
		bio->bi_end_io = lm_end_io;
		bio->bi_private = &batch;
		for (j = 0; j < run; j++)
			__bio_add_page(bio, log->pages[i + j], LM_BLOCK_SIZE, 0);

		atomic_inc(&batch.pending);
		submit_bio(bio);
		i += run;
	}

	if (!atomic_dec_and_test(&batch.pending))
		wait_for_completion_io(&batch.done);

	return blk_status_to_errno(READ_ONCE(batch.status));
}
