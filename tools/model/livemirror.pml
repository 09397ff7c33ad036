/* SPDX-License-Identifier: GPL-2.0 */
/*
 * livemirror.pml - SPIN model of the dm-livemirror region protocol of issue 13
 * (one authority per region: the log bit L/D and the need-copy bit N, both
 * read and changed under the region's bucket lock).
 *
 * What runs concurrently: two guest writers (overlapping writes to region 0,
 * guest flushes, one discard over every region), NCOPIER copy workers with a
 * lock-free (stale) search and a re-check under the bucket lock, the lazy
 * clear (flush both legs, then clear idle DIRTY regions), the log commit
 * (D := L), a switch once the writers are done (the device is suspended), and
 * a crash that may strike between any two steps of all of them.
 *
 * Each bucket-lock critical section of the code is one atomic step here; a
 * lock-free read is a step of its own, so anything may happen between it and
 * the use of the value.  See tools/model/README for the mapping to the code
 * and for what is abstracted away.
 *
 * Build-time switches (cc -D via spin -D...):
 *   MUTANT_NORECHECK  the copier trusts its stale search (no re-check of
 *                     N[R] && !S[R] under the bucket lock)
 *   MUTANT_NOWAW      no write-after-write interlock between overlapping
 *                     mirrored writes
 *   MUTANT_NOFLUSH    the lazy clear does not flush the legs before clearing
 *   WAW_AT_ISSUE      the interlock looks only at mirrored writes already
 *                     issued (a write still waiting for its mark is ignored)
 *   NCLEAR_AT_END     N[R] is cleared when the copy ends instead of when its
 *                     slot is made; range ops, which the code neither defers
 *                     on a slot nor counts in W[R], then lose the N they set
 *                     while the copy ran
 *   NCOPIER           number of copy workers (copy_depth), default 2
 */

#ifndef NCOPIER
#define NCOPIER 2
#endif

#define NR	2		/* regions, one block each: writes to one region overlap */
#define SRC	0
#define DST	1
#define IX(leg, r)	((leg) * NR + (r))
#define BIT(v)	(1 << (v))

/* data values: 0 zeroes (discard), 1 initial data, 2 stale destination, 3.. writes */

/* legs: vol is what a read returns (the volatile cache), dur what survives a crash */
byte vol[2 * NR];
byte dur[2 * NR];

/* per region state (see README: CLEAN, DIRTY, NEEDCOPY, COPYING) */
bit L[NR];		/* the log's in-core bit */
bit D[NR];		/* the bit as last committed on disk */
bit N[NR];		/* need_copy: the region still needs a copy */
bit S[NR];		/* a copy slot exists (COPYING) */
byte Wc[NR];		/* tracked writes in W[R] */
byte wawc[NR];		/* mirrored (to_dest) writes of W[R] for the interlock */
byte inflight[NR];	/* ops in an epoch (entered, not exited) */
bit touched[NR];	/* a write or copy entered/ended since the clear's flush began */

byte okmask[NR];	/* values the authoritative leg may hold after a crash */
bit switched;		/* SWITCHED is durable: the destination is authoritative */
bit crashed;
byte writers_done;

inline flush(leg)
{
	dur[IX(leg, 0)] = vol[IX(leg, 0)];
	dur[IX(leg, 1)] = vol[IX(leg, 1)]
}

/* A guest flush (REQ_PREFLUSH) goes to the authoritative leg; it acknowledges
 * as durable every write completed before it: the value now stable on that leg
 * is the oldest one a crash may leave. */
inline guest_flush()
{
	atomic {
		flush(switched);
		printf("MSC: W%d guest flush of leg %d\n", _pid, switched);
		okmask[0] = BIT(vol[IX(switched, 0)]);
		okmask[1] = BIT(vol[IX(switched, 1)])
	}
}

/* A single-region write of value v to region r (lm_route_write + lm_issue + completion). */
inline write(r, v)
{
	/* map, under B[r]: a slot defers the write (it is re-routed when the
	 * copy ends; a blocking guard is that re-route); a mirrored write
	 * waits for an overlapping mirrored write in W[r] (WAW interlock) */
	atomic {
#if defined(MUTANT_NOWAW)
		(!S[r]) ->
#else
		(!S[r] && (N[r] || wawc[r] == 0)) ->
#endif
		Wc[r]++; inflight[r]++; touched[r] = 1;
		todest = !N[r];
		L[r] = 1;
		printf("MSC: W%d route R%d v=%d to_dest=%d (N=%d D=%d)\n", _pid, r, v, todest, N[r], D[r]);
#if !defined(WAW_AT_ISSUE)
		if :: todest -> wawc[r]++ :: else -> skip fi
#endif
	}
	/* the mark is durable (D[r] = 1): the worker issues the clones.  The
	 * last clone to land and the completion are one step: nothing looks
	 * at a landed write that has not completed, except as in flight. */
#if defined(WAW_AT_ISSUE)
#define ISSUED	wawc[r] = wawc[r] + todest
#else
#define ISSUED	skip
#endif
#define LAND_SRC	vol[IX(SRC, r)] = v; okmask[r] = okmask[r] | BIT(v); \
			printf("MSC: W%d v=%d landed on src R%d\n", _pid, v, r)
#define LAND_DST	vol[IX(DST, r)] = v; \
			printf("MSC: W%d v=%d landed on dst R%d\n", _pid, v, r)
#define COMPLETE	Wc[r]--; inflight[r]--; touched[r] = 1; \
			wawc[r] = wawc[r] - todest; todest = 0
	if
	:: todest ->
		if	/* the two clones land in either order */
		:: atomic { D[r] == 1 -> ISSUED; LAND_SRC };
		   atomic { LAND_DST; COMPLETE }
		:: atomic { D[r] == 1 -> ISSUED; LAND_DST };
		   atomic { LAND_SRC; COMPLETE }
		fi
	:: else ->
		atomic { D[r] == 1 -> LAND_SRC; COMPLETE }
	fi
}

/* A discard (or multi-region write-zeroes) of every region: mark all
 * (durable), issue to the source only, set N at completion. */
inline discard_all()
{
	atomic {
		/* as in the code: not deferred on a slot, not counted in W[R] */
		inflight[0]++; inflight[1]++;
		touched[0] = 1; touched[1] = 1;
		L[0] = 1; L[1] = 1;
		printf("MSC: W%d route discard R0-R1 (source only)\n", _pid)
	}
	D[0] == 1 && D[1] == 1;
	atomic { vol[IX(SRC, 0)] = 0; okmask[0] = okmask[0] | BIT(0) };
	atomic { vol[IX(SRC, 1)] = 0; okmask[1] = okmask[1] | BIT(0) };
	atomic {
		inflight[0]--; inflight[1]--;
		touched[0] = 1; touched[1] = 1;
		N[0] = 1; N[1] = 1;
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

/* A copy worker (one copy slot of copy_depth): lm_take_region + kcopyd.
 * The search is lock-free: it picks some region it saw with N set; by the
 * time the worker holds B[r] that reading may be stale.  (A search that
 * misses a set bit only delays the copy: the generation makes it look again.) */
proctype copier()
{
	byte r, tmp;
	bit took;

	{
end:	do
	:: atomic {	/* the search: a lock-free read of N */
		if
		:: N[0] -> r = 0
		:: N[1] -> r = 1
		fi;
		printf("MSC: C%d search (lock-free) saw N[%d]=1\n", _pid, r)
	   };
		atomic {	/* B[r] */
#if defined(MUTANT_NORECHECK)
			S[r] = 1; took = 1;
#if !defined(NCLEAR_AT_END)
			N[r] = 0;
#endif
			printf("MSC: C%d takes R%d (no re-check)\n", _pid, r)
#else
			if
			:: (N[r] && !S[r]) -> S[r] = 1; took = 1;
#if !defined(NCLEAR_AT_END)
			   N[r] = 0;	/* NEEDCOPY -> COPYING clears N */
#endif
			   printf("MSC: C%d re-check: takes R%d\n", _pid, r)
			:: else -> printf("MSC: C%d re-check: skips R%d\n", _pid, r);
			   took = 0; r = 0
			fi
#endif
		};
		if
		:: took ->
			/* the slot waits for W[r] to drain; then kcopyd
			 * reads the source ... */
			atomic { Wc[r] == 0 -> tmp = vol[IX(SRC, r)];
				 printf("MSC: C%d copy R%d reads src v=%d\n", _pid, r, tmp) };
			/* ... writes the destination, and the success
			 * callback runs under B[r] */
			atomic {
				vol[IX(DST, r)] = tmp;
				printf("MSC: C%d copy R%d writes dst v=%d, slot ends\n", _pid, r, tmp);
				tmp = 0;
#if defined(NCLEAR_AT_END)
				N[r] = 0;
#endif
				S[r] = 0; touched[r] = 1;
				took = 0; r = 0
			}
		:: else -> skip
		fi
	od
	} unless { crashed }
}

/* The lazy clear (lm_clear_in_sync): flush both legs, then under B[R] clear
 * L[R] of every DIRTY region that stayed idle since the flush began. */
proctype clearer()
{
	byte r;

	{
end:	do
	:: atomic {
		((L[0] && !N[0] && !S[0]) || (L[1] && !N[1] && !S[1])) ->
		touched[0] = 0; touched[1] = 0;	/* a new epoch starts */
#if defined(MUTANT_NOFLUSH)
		printf("MSC: clear: new epoch (no flush)\n");
#else
		printf("MSC: clear: new epoch, flush src\n");
#endif
#if !defined(MUTANT_NOFLUSH)
		flush(SRC)	/* and the flush of the source begins */
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
				:: (L[r] && !N[r] && !S[r] && Wc[r] == 0 &&
				    inflight[r] == 0 && !touched[r]) -> L[r] = 0;
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
	:: atomic { (D[0] != L[0] || D[1] != L[1]) -> D[0] = L[0]; D[1] = L[1];
		    printf("MSC: commit: D[0]=%d D[1]=%d\n", D[0], D[1]) }
	od
	} unless { crashed }
}

/* switch: the device is suspended (the writers are done), no N, no slot,
 * nothing in flight; flush both legs, clear every bit, commit, SWITCHED. */
proctype switcher()
{
	{
		atomic {
			writers_done == 2 && !N[0] && !N[1] && !S[0] && !S[1] &&
			Wc[0] == 0 && Wc[1] == 0 && inflight[0] == 0 && inflight[1] == 0 ->
			printf("MSC: switch: suspended, synced; flush src\n");
			flush(SRC)
		};
		atomic { flush(DST); printf("MSC: switch: flush dst\n") };
		atomic {
			/* synced: the legs must agree, and hold every acknowledged write */
			assert(dur[IX(SRC, 0)] == dur[IX(DST, 0)]);
			assert(dur[IX(SRC, 1)] == dur[IX(DST, 1)]);
			assert((okmask[0] >> dur[IX(DST, 0)]) & 1);
			assert((okmask[1] >> dur[IX(DST, 1)]) & 1);
			L[0] = 0; L[1] = 0
		};
		(D[0] == 0 && D[1] == 0);	/* committed */
		atomic {
			switched = 1;
			printf("MSC: switch: SWITCHED, dst R0=%d R1=%d\n", dur[2], dur[3]);
			okmask[0] = BIT(dur[IX(DST, 0)]);
			okmask[1] = BIT(dur[IX(DST, 1)])
		}
	} unless { crashed }
}

/* A crash: each leg keeps or loses each block's unflushed write (its cache
 * wrote it back or not), the log keeps D.  Rather than branch over the 2^4
 * outcomes, each check below is written for all of them at once: a block may
 * come back as dur or as vol.  Then the load (L := D, N := D), the copy of
 * every N region, and a switch, whose checks hold for every outcome too. */
#define OK(r, v)	((okmask[r] >> (v)) & 1)
proctype crasher()
{
	byte r;

	atomic {
		!crashed -> crashed = 1;
		printf("MSC: CRASH src dur/vol R0 %d/%d R1 %d/%d, dst R0 %d/%d R1 %d/%d, D=%d%d switched=%d\n",
		       dur[0], vol[0], dur[1], vol[1], dur[2], vol[2], dur[3], vol[3], D[0], D[1], switched);
		r = 0;
		do
		:: r < NR ->
			/* a region with a clear durable bit is identical on both
			 * legs, whatever each cache kept */
			assert(D[r] ||
			       (dur[IX(SRC, r)] == vol[IX(SRC, r)] &&
				dur[IX(DST, r)] == vol[IX(DST, r)] &&
				dur[IX(SRC, r)] == dur[IX(DST, r)]));
			/* every acknowledged write is on the authoritative leg */
			assert(OK(r, dur[IX(switched, r)]) && OK(r, vol[IX(switched, r)]));
			/* load: L := D, N := D; the pass copies the N regions
			 * (source -> destination), so after it and a switch the
			 * destination holds what the source held: acknowledged
			 * writes survive (for D = 0 that is the first check) */
			assert(switched || !D[r] ||
			       (OK(r, dur[IX(SRC, r)]) && OK(r, vol[IX(SRC, r)])));
			r++
		:: else -> break
		od;
		/* canonical final state: all post-crash states merge */
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
		/* the state after a load: each region CLEAN or NEEDCOPY */
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
