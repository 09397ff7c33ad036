/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LM_UTIL_H
#define LM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LM_PROG "livemirror"

extern int lm_verbose;

void lm_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lm_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lm_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The text of the last lm_err() (for --json results); "" if none. */
const char *lm_last_error_msg(void);

/*
 * Sizes: a number with an optional suffix: s (512-byte sectors), b,
 * K/KiB, M/MiB, G/GiB, T/TiB, P/PiB (powers of 1024).  A bare number is bytes.
 * Returns 0 or -1 (bad syntax or overflow).
 */
int parse_size(const char *s, uint64_t *bytes);
/* Unsigned decimal integer, no sign, no junk; -1 on error or > max. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Non-negative seconds, decimal fraction allowed. */
int parse_seconds(const char *s, double *out);

/* Human readable size, e.g. "1.5 GiB". */
void fmt_size(uint64_t bytes, char *buf, size_t len);
/* Duration like "1h02m03s". */
void fmt_duration(double secs, char *buf, size_t len);

void hex_encode(const uint8_t *in, size_t n, char *out); /* out: 2n+1 */
int hex_decode(const char *in, uint8_t *out, size_t n); /* exactly 2n chars */
int random_bytes(uint8_t *out, size_t n);
bool all_zero(const void *buf, size_t n);

/* Label rules of the target: 1..63 printable chars, no spaces. */
bool label_valid(const char *label);
/* Derive a valid label from a dm UUID (sanitised, hashed when too long). */
void label_from_uuid(const char *uuid, char *out, size_t len);

/*
 * Test hooks, compiled only into the test build (make builds livemirror-test
 * with -DLM_TEST_HOOKS; the installed livemirror has none, review L6).
 *
 * Crash injection: when LIVEMIRROR_CRASH_AT equals the formatted step name,
 * _exit(99) right here.  Steps are also listed by LIVEMIRROR_CRASH_TRACE=1
 * (each step printed to stderr as "crash-point: NAME").  With
 * LIVEMIRROR_CRASH_HOLD=FILE the step's name is written to FILE and the
 * helper stops there instead, for a test that cuts the power (kills the
 * guest) at exactly that step.
 *
 * Failure injection: true when LIVEMIRROR_FAIL_AT equals the formatted step
 * name; the caller then takes its error path (tests of the rollback).
 * LIVEMIRROR_CRASH_TRACE=1 lists them too ("fail-point: NAME").
 */
#ifdef LM_TEST_HOOKS
void crash_point(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool fail_point(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#else
static inline __attribute__((format(printf, 1, 2))) void crash_point(const char *fmt, ...)
{
	(void)fmt;
}

static inline __attribute__((format(printf, 1, 2))) bool fail_point(const char *fmt, ...)
{
	(void)fmt;
	return false;
}
#endif

/* Monotonic seconds. */
double now_mono(void);

#endif
