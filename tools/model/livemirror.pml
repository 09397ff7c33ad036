/* SPDX-License-Identifier: GPL-2.0 */
/*
 * livemirror.pml - SPIN model of the dm-livemirror region protocol of issue 13:
 * one authority per region.  Whether a write to R is mirrored, deferred or
 * sent to the source only is decided from R's own state (the log bit L, the
 * need-copy bit N, R's copy slots S and its writes in flight W), read under
 * R's bucket lock.  The copier's search only proposes a candidate.
 *
 * Region states (the names used in dm-livemirror/livemirror.h):
 *   CLEAN     L=0 N=0      the legs are identical on stable storage
 *   DIRTY     L=1 N=0      identical in core, writes mirrored, may be cleared
 *   NEEDCOPY  L=1 N=1      the legs may differ: writes to the source only
 *   COPYING   S[R] > 0     writes deferred on the slot until the copy ends
 *
 * What runs concurrently: two guest writers (overlapping writes to region 0,
 * guest flushes, one discard of every region), NCOPIER copy workers whose
 * search is lock-free (and so may be stale) and who check again under the
 * bucket lock, the lazy clear (a new epoch, flush both legs, clear the idle
 * DIRTY regions), the log commit (D := L), a switch once the writers are
 * done (the device is suspended), and a crash that may strike between any two
 * steps of all of them.  Each bucket-lock critical section of the code is one
 * atomic step here; a lock-free read is a step of its own.
 *
 * The checks:
 *   - after any crash, every region whose durable bit D is clear is identical
 *     on both legs' stable storage, for every subset of unflushed writes the
 *     caches may have lost;
 *   - after any crash, every acknowledged write is on the authoritative leg
 *     (the source before SWITCHED, the destination after), and it survives
 *     the load (L := D, N := D), the copy of every N region and a switch;
 *   - at the switch (synced: no N, no slot, nothing in flight, both legs
 *     flushed) the legs agree and the destination holds every acknowledged
 *     write.
 *
 * Build-time switches (spin -a -DX), each expected to be refuted by SPIN:
 *   MUTANT_NORECHECK  the copier takes the region its stale search found,
 *                     without checking N[R] and S[R] again under B[R]
 *   MUTANT_NOWAW      no write-after-write interlock between overlapping
 *                     mirrored writes
 *   MUTANT_NOFLUSH    the lazy clear does not flush the legs before clearing
 *   WAW_AT_ISSUE      the interlock only counts mirrored writes already issued,
 *                     not those still waiting for their mark
 *   N_CLEAR_AT_END    N is cleared when the copy succeeds instead of when the
 *                     slot is taken (NEEDCOPY -> COPYING)
 *   RECHECK_N_ONLY    the re-check looks at N[R] but not at S[R]
 *   MUTANT_NOSTAMP    the end of a copy does not stamp the region's group
 *   MUTANT_NOEPOCH    the lazy clear ignores the epochs (group idle)
 * and one that is not:
 *   RECHECK_S_ONLY    the re-check looks at S[R] but not at N[R] (a wasted
 *                     copy, not a lost write)
 *   NCOPIER           number of copy workers (copy_depth), default 2
 *   CRASH_EXPLICIT    the crash branches over the 2^4 outcomes of the caches
 *                     and runs the load, the copy and the switch, instead of
 *                     checking all outcomes at once (same verdicts, slower)
 *
 * See tools/model/README for the mapping to the code and for what is
 * abstracted away.
 */

#ifndef NCOPIER
#define NCOPIER 2
#endif

#define NR	2		/* regions, one block each: writes to one region overlap */
#define SRC	0
#define DST	1
#define IX(leg, r)	((leg) * NR + (r))
#define BIT(v)	(1 << (v))
#define OK(r, v)	((okmask[r] >> (v)) & 1)

/* data values: 0 zeroes (discard), 1 initial data, 2 stale destination, 3.. writes */

/* the legs: vol is what a read returns (through the volatile cache), dur
 * what is on stable storage and survives a crash */
byte vol[2 * NR];
byte dur[2 * NR];

bit L[NR];		/* the log's in-core bit */
bit D[NR];		/* the bit as last committed on disk */
bit N[NR];		/* need_copy */
byte S[NR];		/* copy slots of R (the bucket's copies list) */
byte Wc[NR];		/* tracked writes of R (the bucket's writes list) */
byte wawc[NR];		/* mirrored writes among them, for the interlock */
byte inflight[NR];	/* ops that entered an epoch and did not leave it */
bit touched[NR];	/* the group was stamped since the clear's epoch began */

byte okmask[NR];	/* values the authoritative leg may hold after a crash */
bit switched;		/* SWITCHED is durable: the destination is authoritative */
bit crashed;
byte writers_done;

inline flush(leg)
{
	dur[IX(leg, 0)] = vol[IX(leg, 0)];
	dur[IX(leg, 1)] = vol[IX(leg, 1)]
}

/* A guest flush goes to the authoritative leg, and acknowledges as durable
 * every write completed before it: the value now stable there is the oldest
 * one a crash may leave (later writes may add newer ones). */
inline guest_flush()
{
	atomic {
		flush(switched);
		printf("MSC: W%d guest flush of leg %d\n", _pid, switched);
		okmask[0] = BIT(vol[IX(switched, 0)]);
		okmask[1] = BIT(vol[IX(switched, 1)])
	}
}

/*
 * A single-region write of value v to region r: lm_route_write(), the mark,
 * lm_issue(), the clones' completions and lm_io_finish().
 */
#if defined(WAW_AT_ISSUE)
#define ISSUED		wawc[r] = wawc[r] + todest
#define ROUTED		skip
#else
#define ISSUED		skip
#define ROUTED		wawc[r] = wawc[r] + todest
#endif
#define LAND_SRC	vol[IX(SRC, r)] = v; okmask[r] = okmask[r] | BIT(v); \
			printf("MSC: W%d v=%d landed on src R%d\n", _pid, v, r)
#define LAND_DST	vol[IX(DST, r)] = v; \
			printf("MSC: W%d v=%d landed on dst R%d\n", _pid, v, r)
#define COMPLETE	Wc[r]--; inflight[r]--; touched[r] = 1; \
			wawc[r] = wawc[r] - todest; todest = 0
inline write(r, v)
{
	/*
	 * map, under B[r].  COPYING defers the write on the slot; a mirrored
	 * write that overlaps a mirrored write in W[r] is held (WAW
	 * interlock).  Both are routed again later; the blocking guard is
	 * that second routing, evaluated under the lock when it can succeed.
	 */
	atomic {
#if defined(MUTANT_NOWAW)
		(S[r] == 0) ->
#else
		(S[r] == 0 && (N[r] || wawc[r] == 0)) ->
#endif
		todest = !N[r];
		printf("MSC: W%d route R%d v=%d to_dest=%d (N=%d D=%d)\n",
		       _pid, r, v, todest, N[r], D[r]);
		Wc[r]++; inflight[r]++; touched[r] = 1;
		L[r] = 1;	/* the mark; N[r] stays as it is */
		ROUTED
	}
	/*
	 * Once the mark is durable (D[r] = 1) the worker issues the clones;
	 * they land in either order.  The last clone to land and the
	 * completion are one step: nothing looks at a landed write that has
	 * not completed other than as "in flight".
	 */
	if
	:: todest ->
		if
		:: atomic { D[r] == 1 -> ISSUED; LAND_SRC };
		   atomic { LAND_DST; COMPLETE }
		:: atomic { D[r] == 1 -> ISSUED; LAND_DST };
		   atomic { LAND_SRC; COMPLETE }
		fi
	:: else ->
		atomic { D[r] == 1 -> LAND_SRC; COMPLETE }
	fi
}

/*
 * A discard (or a write-zeroes spanning regions) of every region:
 * lm_route_range().  Marked region by region under each bucket lock, not
 * tracked in W (a slot does not wait for it, nor does it defer on one),
 * issued to the source only once every mark is durable; on completion it
 * sets N for every region (lm_need_copy_range()).
 */
inline discard_all()
{
	atomic {
		inflight[0]++; inflight[1]++;	/* lm_epoch_enter() */
		touched[0] = 1; touched[1] = 1;
		L[0] = 1;
		printf("MSC: W%d route discard R0-R1 (source only)\n", _pid)
	}
	atomic { L[1] = 1 };
	atomic {
		D[0] == 1 && D[1] == 1 -> vol[IX(SRC, 0)] = 0;
		okmask[0] = okmask[0] | BIT(0);
		printf("MSC: W%d discard landed on src R0\n", _pid)
	};
	atomic {
		vol[IX(SRC, 1)] = 0; okmask[1] = okmask[1] | BIT(0);
		printf("MSC: W%d discard landed on src R1\n", _pid)
	};
	atomic {
		N[0] = 1; N[1] = 1;
		inflight[0]--; inflight[1]--;
		touched[0] = 1; touched[1] = 1;
		printf("MSC: W%d discard done: N[0]=N[1]=1\n", _pid)
	}
}

proctype writerA()
{
	bit todest;

	{
		write(0, 3);
		guest_flush();
		write(0, 5);
		guest_flush();
		writers_done++
	} unless { crashed }
}

proctype writerB()
{
	bit todest;

	{
		write(0, 4);
		guest_flush();
		discard_all();
		guest_flush();
		writers_done++
	} unless { crashed }
}

/*
 * A copy worker, i.e. one of copy_depth slots: lm_take_region(), kcopyd,
 * lm_slot_end().  The search reads N without a lock; whatever it found may
 * be stale by the time the worker holds B[r].  (A search that misses a set
 * bit only delays the copy: need_gen makes it look again.)
 */
proctype copier()
{
	byte r, tmp;
	bit took;

	{
end:	do
	:: atomic {	/* the search: find_next_bit(need_copy), lock-free */
		if
		:: N[0] -> r = 0
		:: N[1] -> r = 1
		fi;
		printf("MSC: C%d search (lock-free) saw N[%d]=1\n", _pid, r)
	   };
		atomic {	/* B[r]: NEEDCOPY -> COPYING */
#if defined(MUTANT_NORECHECK)
#define TAKE_OK	1
#elif defined(RECHECK_N_ONLY)
#define TAKE_OK	N[r]
#elif defined(RECHECK_S_ONLY)
#define TAKE_OK	(S[r] == 0)
#else
#define TAKE_OK	(N[r] && S[r] == 0)
#endif
			if
			:: TAKE_OK ->
				S[r]++; took = 1;
#if !defined(N_CLEAR_AT_END)
				N[r] = 0;
#endif
				printf("MSC: C%d takes R%d (slots %d)\n", _pid, r, S[r])
			:: else ->
				printf("MSC: C%d re-check: skips R%d\n", _pid, r);
				took = 0; r = 0
			fi
		};
		if
		:: took ->
			/* the slot waits for the writes in W[r]; then kcopyd
			 * reads the source ... */
			atomic {
				Wc[r] == 0 -> tmp = vol[IX(SRC, r)];
				printf("MSC: C%d copy R%d reads src v=%d\n", _pid, r, tmp)
			};
			/* ... writes the destination; lm_slot_end() under B[r]
			 * releases the deferred writes: COPYING -> DIRTY */
			atomic {
				vol[IX(DST, r)] = tmp;
				printf("MSC: C%d copy R%d writes dst v=%d, slot ends\n", _pid, r, tmp);
#if defined(N_CLEAR_AT_END)
				N[r] = 0;
#endif
				S[r]--;
#if !defined(MUTANT_NOSTAMP)
				touched[r] = 1;	/* lm_touch_group() */
#endif
				tmp = 0; took = 0; r = 0
			}
		:: else -> skip
		fi
	od
	} unless { crashed }
}

/*
 * The lazy clear, lm_clear_in_sync(): a new epoch, flush both legs, then
 * under B[r] clear L[r] of every DIRTY region that is not busy and whose
 * group stayed idle since the epoch began (DIRTY -> CLEAN).
 */
#define DIRTY_IDLE(r)	(L[r] && !N[r] && S[r] == 0 && Wc[r] == 0)
proctype clearer()
{
	byte r;

	{
end:	do
	:: atomic {
		(DIRTY_IDLE(0) || DIRTY_IDLE(1)) ->
		touched[0] = 0; touched[1] = 0;	/* the epochs read before the flush */
#if defined(MUTANT_NOFLUSH)
		printf("MSC: clear: new epoch (no flush)\n")
#else
		flush(SRC);
		printf("MSC: clear: new epoch, flush src\n")
#endif
	   };
#if !defined(MUTANT_NOFLUSH)
		atomic { flush(DST); printf("MSC: clear: flush dst\n") };
#endif
		atomic {	/* B[r] of each region in turn */
			r = 0;
			do
			:: r < NR ->
				if
#if defined(MUTANT_NOEPOCH)
				:: DIRTY_IDLE(r) ->
#else
				:: DIRTY_IDLE(r) && inflight[r] == 0 && !touched[r] ->
#endif
					L[r] = 0;
					printf("MSC: clear: L[%d]=0\n", r)
				:: else -> skip
				fi;
				r++
			:: else -> r = 0; break
			od
		}
	od
	} unless { crashed }
}

/* The log commit: D := L (FUA).  Marks wait for it; clears ride along. */
proctype committer()
{
	{
end:	do
	:: atomic {
		(D[0] != L[0] || D[1] != L[1]) -> D[0] = L[0]; D[1] = L[1];
		printf("MSC: commit: D[0]=%d D[1]=%d\n", D[0], D[1])
	   }
	od
	} unless { crashed }
}

/*
 * switch: the device is suspended (the writers are done), nothing is left to
 * copy (lm_all_copied()), nothing in flight; flush both legs, clear every
 * bit, commit, then SWITCHED.
 */
proctype switcher()
{
	{
		atomic {
			writers_done == 2 && !N[0] && !N[1] && S[0] == 0 && S[1] == 0 &&
			Wc[0] == 0 && Wc[1] == 0 && inflight[0] == 0 && inflight[1] == 0 ->
			printf("MSC: switch: suspended, synced; flush src\n");
			flush(SRC)
		};
		atomic {
			flush(DST);
			printf("MSC: switch: flush dst: R0 src=%d dst=%d, R1 src=%d dst=%d\n",
			       dur[0], dur[2], dur[1], dur[3]);
			/* synced: the legs agree, and hold every acknowledged write */
			assert(dur[IX(SRC, 0)] == dur[IX(DST, 0)] &&
			       dur[IX(SRC, 1)] == dur[IX(DST, 1)]);
			assert(OK(0, dur[IX(DST, 0)]) && OK(1, dur[IX(DST, 1)]));
			L[0] = 0; L[1] = 0
		};
		(D[0] == 0 && D[1] == 0);	/* committed */
		atomic {
			switched = 1;
			printf("MSC: switch: SWITCHED\n");
			okmask[0] = BIT(dur[IX(DST, 0)]);
			okmask[1] = BIT(dur[IX(DST, 1)])
		}
	} unless { crashed }
}

/*
 * A crash: each leg keeps or loses each block's unflushed write (its cache
 * wrote it back or not), the log keeps D.  Rather than branch over the 2^4
 * outcomes, each check is written for all of them at once: a block may come
 * back as dur or as vol.
 */
proctype crasher()
{
	byte r;

	atomic {
		!crashed -> crashed = 1;
		printf("MSC: CRASH src dur/vol R0 %d/%d R1 %d/%d, dst R0 %d/%d R1 %d/%d, D=%d%d switched=%d\n",
		       dur[0], vol[0], dur[1], vol[1], dur[2], vol[2], dur[3], vol[3],
		       D[0], D[1], switched);
#if defined(CRASH_EXPLICIT)
		/* branch over every outcome: each cache wrote back its block
		 * or lost it; dur is then the legs' contents after the crash */
		r = 0;
		do
		:: r < 2 * NR ->
			if
			:: dur[r] = vol[r]
			:: skip
			fi;
			r++
		:: else -> break
		od;
		r = 0;
		do
		:: r < NR ->
			assert(D[r] || dur[IX(SRC, r)] == dur[IX(DST, r)]);
			assert(OK(r, dur[IX(switched, r)]));
			/* the load: L := D, N := D; the pass copies N regions */
			L[r] = D[r]; N[r] = D[r];
			if
			:: !switched && N[r] -> dur[IX(DST, r)] = dur[IX(SRC, r)]; N[r] = 0
			:: else -> skip
			fi;
			/* synced; a switch makes the destination authoritative */
			assert(switched || dur[IX(SRC, r)] == dur[IX(DST, r)]);
			assert(OK(r, dur[IX(DST, r)]));
			r++
		:: else -> break
		od;
#else
		r = 0;
		do
		:: r < NR ->
			/* D = 0: identical on both legs, whatever each cache kept */
			assert(D[r] ||
			       (dur[IX(SRC, r)] == vol[IX(SRC, r)] &&
				dur[IX(DST, r)] == vol[IX(DST, r)] &&
				dur[IX(SRC, r)] == dur[IX(DST, r)]));
			/* every acknowledged write is on the authoritative leg */
			assert(OK(r, dur[IX(switched, r)]) && OK(r, vol[IX(switched, r)]));
			/* the load sets L := D, N := D; the pass copies the N
			 * regions source -> destination, so after it and a
			 * switch the destination holds what the source held
			 * (for D = 0 that is the first check) */
			assert(switched || !D[r] ||
			       (OK(r, dur[IX(SRC, r)]) && OK(r, vol[IX(SRC, r)])));
			r++
		:: else -> break
		od;
#endif
		/* one canonical state after every crash */
		r = 0;
		vol[0] = 0; vol[1] = 0; vol[2] = 0; vol[3] = 0;
		dur[0] = 0; dur[1] = 0; dur[2] = 0; dur[3] = 0;
		okmask[0] = 0; okmask[1] = 0;
		L[0] = 0; L[1] = 0; D[0] = 0; D[1] = 0; N[0] = 0; N[1] = 0;
		S[0] = 0; S[1] = 0; Wc[0] = 0; Wc[1] = 0; wawc[0] = 0; wawc[1] = 0;
		inflight[0] = 0; inflight[1] = 0; touched[0] = 0; touched[1] = 0;
		switched = 0; writers_done = 0
	}
}

init
{
	byte r;

	atomic {
		/* the state after a load (N := L = D): each region CLEAN or NEEDCOPY */
		r = 0;
		do
		:: r < NR ->
			if
			:: vol[IX(SRC, r)] = 1; vol[IX(DST, r)] = 1	/* CLEAN */
			:: vol[IX(SRC, r)] = 1; vol[IX(DST, r)] = 2;	/* NEEDCOPY */
			   L[r] = 1; D[r] = 1; N[r] = 1
			fi;
			dur[IX(SRC, r)] = vol[IX(SRC, r)];
			dur[IX(DST, r)] = vol[IX(DST, r)];
			okmask[r] = BIT(1);
			r++
		:: else -> r = 0; break
		od;
		run writerA();
		run writerB();
		r = 0;
		do
		:: r < NCOPIER -> run copier(); r++
		:: else -> r = 0; break
		od;
		run clearer();
		run committer();
		run switcher();
		run crasher()
	}
}
