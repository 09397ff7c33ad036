/* SPDX-License-Identifier: GPL-2.0 */
/*
 * livemirror-cursor.pml - SPIN model of the OLD region rule of dm-livemirror
 * at b790ef5, kept to show that SPIN finds the review's C1 trace in it.
 *
 * The old rule: there is no need-copy bit.  A region is "in sync" when
 * R < copy_next || !L[R] (lm_region_in_sync, copy.c:32-36), and a write reads
 * copy_next without the copier's copy_lock (io.c:258-263).  The copier holds
 * copy_lock while dirtylog_next() scans L word by word, lock-free towards the
 * writers, and then stores copy_next := found + 1, or nr_regions at the end
 * of the pass (copy.c:182-218).  The lazy clear clears idle regions below the
 * cursor after flushing both legs (lm_clear_in_sync(), sync.c:137-190).
 *
 * One guest writer writes region 0 twice, one write after the other, as a
 * sequential stream does; with no overlapping writes M1 cannot happen, so any
 * violation SPIN finds here is C1.  The legs, the log (L in core, D on disk),
 * the commit, the crash and the checks are those of livemirror.pml.
 */

#define NR	2
#define SRC	0
#define DST	1
#define IX(leg, r)	((leg) * NR + (r))
#define BIT(v)	(1 << (v))
#define OK(r, v)	((okmask[r] >> (v)) & 1)

byte vol[2 * NR];	/* what a read returns (volatile cache) */
byte dur[2 * NR];	/* what survives a crash */
bit L[NR];		/* the log's in-core bit */
bit D[NR];		/* on disk */
bit S[NR];		/* a copy slot exists */
byte Wc[NR];		/* tracked writes in flight */
bit touched[NR];	/* epoch stamp: a write or copy since the clear's flush began */
byte cursor;		/* copy_next */
bit copy_lock;
byte okmask[NR];
bit switched, crashed;
byte writers_done;

inline flush(leg)
{
	dur[IX(leg, 0)] = vol[IX(leg, 0)];
	dur[IX(leg, 1)] = vol[IX(leg, 1)]
}

inline guest_flush()
{
	atomic {
		flush(switched);
		okmask[0] = BIT(vol[IX(switched, 0)]);
		okmask[1] = BIT(vol[IX(switched, 1)])
	}
}

/* lm_route_write at b790ef5, under the bucket lock only */
inline write(r, v)
{
	atomic {
		!S[r] ->
		Wc[r]++; touched[r] = 1;
		todest = (r < cursor || !L[r]);	/* cursor read without copy_lock */
		printf("MSC: W%d route R%d v=%d: cursor=%d L[%d]=%d -> to_dest=%d\n",
		       _pid, r, v, cursor, r, L[r], todest);
		L[r] = 1
	}
	if
	:: todest ->
		atomic { D[r] == 1 -> vol[IX(SRC, r)] = v; okmask[r] = okmask[r] | BIT(v) };
		atomic {
			vol[IX(DST, r)] = v;
			printf("MSC: W%d v=%d landed on src and dst R%d\n", _pid, v, r);
			Wc[r]--; touched[r] = 1; todest = 0
		}
	:: else ->
		atomic {
			D[r] == 1 -> vol[IX(SRC, r)] = v; okmask[r] = okmask[r] | BIT(v);
			printf("MSC: W%d v=%d landed on src only R%d\n", _pid, v, r);
			Wc[r]--; touched[r] = 1
		}
	fi
}

proctype writer()
{
	bit todest;

	{
		write(0, 3);
		write(0, 4);
		guest_flush();
		writers_done++
	} unless { crashed }
}

/* lm_copy_work / lm_take_region at b790ef5 */
proctype copier()
{
	byte r, tmp;

	{
end:	do
	:: atomic { copy_lock == 0 && cursor < NR -> copy_lock = 1; r = cursor };
		do	/* dirtylog_next(): a lock-free word scan */
		:: r < NR && !L[r] ->
			printf("MSC: copier scan reads L[%d]=0, goes on\n", r);
			r++
		:: r < NR && L[r] -> break
		:: r >= NR -> break
		od;
		if
		:: r >= NR ->
			atomic {
				cursor = NR; copy_lock = 0;
				printf("MSC: copier stores cursor=%d (pass done)\n", NR);
				r = 0
			}
		:: else ->
			atomic {	/* bucket lock */
				S[r] = 1; cursor = r + 1; copy_lock = 0;
				printf("MSC: copier takes R%d, stores cursor=%d\n", r, cursor)
			};
			atomic { Wc[r] == 0 -> tmp = vol[IX(SRC, r)] };
			atomic {
				vol[IX(DST, r)] = tmp;
				printf("MSC: copier copied R%d (v=%d)\n", r, tmp);
				tmp = 0; S[r] = 0; touched[r] = 1; r = 0
			}
		fi
	od
	} unless { crashed }
}

/* lm_clear_in_sync at b790ef5: flush both legs, then under copy_lock and the
 * bucket lock clear every idle region below the cursor */
proctype clearer()
{
	byte r;

	{
end:	do
	:: atomic {
		((L[0] && 0 < cursor) || (L[1] && 1 < cursor)) ->
		touched[0] = 0; touched[1] = 0;
		flush(SRC);
		printf("MSC: lazy clear: new epoch, flush src\n")
	   };
		atomic { flush(DST); printf("MSC: lazy clear: flush dst\n") };
		atomic {
			copy_lock == 0 ->
			r = 0;
			do
			:: r < NR ->
				if
				:: (L[r] && r < cursor && !S[r] && Wc[r] == 0 && !touched[r]) ->
					L[r] = 0;
					printf("MSC: lazy clear: R%d < cursor=%d, idle: L[%d]=0\n", r, cursor, r)
				:: else -> skip
				fi;
				r++
			:: else -> r = 0; break
			od
		}
	od
	} unless { crashed }
}

proctype committer()
{
	{
end:	do
	:: atomic { (D[0] != L[0] || D[1] != L[1]) -> D[0] = L[0]; D[1] = L[1];
		    printf("MSC: commit: D[0]=%d D[1]=%d\n", D[0], D[1]) }
	od
	} unless { crashed }
}

/* switch: suspended, pass done, nothing in flight */
proctype switcher()
{
#if !defined(NOSWITCH)
	{
		atomic {
			writers_done == 1 && cursor == NR && !S[0] && !S[1] &&
			Wc[0] == 0 && Wc[1] == 0 -> flush(SRC)
		};
		atomic {
			flush(DST);
			printf("MSC: switch: synced, legs flushed: src R0=%d dst R0=%d\n",
			       dur[IX(SRC, 0)], dur[IX(DST, 0)]);
			assert(dur[IX(SRC, 0)] == dur[IX(DST, 0)]);
			assert(dur[IX(SRC, 1)] == dur[IX(DST, 1)]);
			assert(OK(0, dur[IX(DST, 0)]) && OK(1, dur[IX(DST, 1)]));
			L[0] = 0; L[1] = 0
		};
		(D[0] == 0 && D[1] == 0);
		atomic { switched = 1 }
	} unless { crashed }
#else
	skip	/* -DNOSWITCH: the loss must show without a switch too */
#endif
}

/* the crash and its checks, as in livemirror.pml */
proctype crasher()
{
	byte r;

	atomic {
		!crashed -> crashed = 1;
		printf("MSC: CRASH src dur/vol R0 %d/%d R1 %d/%d, dst R0 %d/%d R1 %d/%d, D=%d%d\n",
		       dur[0], vol[0], dur[1], vol[1], dur[2], vol[2], dur[3], vol[3], D[0], D[1]);
		r = 0;
		do
		:: r < NR ->
			assert(D[r] ||
			       (dur[IX(SRC, r)] == vol[IX(SRC, r)] &&
				dur[IX(DST, r)] == vol[IX(DST, r)] &&
				dur[IX(SRC, r)] == dur[IX(DST, r)]));
			assert(OK(r, dur[IX(switched, r)]) && OK(r, vol[IX(switched, r)]));
			r++
		:: else -> break
		od;
		r = 0;
		vol[0] = 0; vol[1] = 0; vol[2] = 0; vol[3] = 0;
		dur[0] = 0; dur[1] = 0; dur[2] = 0; dur[3] = 0;
		okmask[0] = 0; okmask[1] = 0; L[0] = 0; L[1] = 0; D[0] = 0; D[1] = 0;
		S[0] = 0; S[1] = 0; Wc[0] = 0; Wc[1] = 0; touched[0] = 0; touched[1] = 0;
		cursor = 0; copy_lock = 0; switched = 0; writers_done = 0
	}
}

init
{
	byte r;

	atomic {
		/* a pass (re)started at 0 (resume, retry, reload): region 0 is
		 * clean, region 1 clean or dirty */
		vol[IX(SRC, 0)] = 1; vol[IX(DST, 0)] = 1;
		if
		:: vol[IX(SRC, 1)] = 1; vol[IX(DST, 1)] = 1
		:: vol[IX(SRC, 1)] = 1; vol[IX(DST, 1)] = 2; L[1] = 1; D[1] = 1
		fi;
		r = 0;
		do
		:: r < 2 * NR -> dur[r] = vol[r]; r++
		:: else -> r = 0; break
		od;
		okmask[0] = BIT(1); okmask[1] = BIT(1);
		cursor = 0;
		run writer();
		run copier();
		run clearer();
		run committer();
		run switcher();
		run crasher()
	}
}
