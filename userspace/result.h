/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one result object that a state-changing command prints under --json
 * (schema in livemirror(8)).  Commands report what happened with
 * lm_result_*(); main() prints the object once, errors included.  Human
 * messages that would go to stdout go to stderr instead, so stdout holds
 * exactly one JSON object.
 */
#ifndef LM_RESULT_H
#define LM_RESULT_H

#include <stdbool.h>
#include <stdio.h>

#define LM_RESULT_SCHEMA 1

/* Begin JSON mode for command (redirects stdout); call before the handler. */
void lm_result_begin(const char *command);
bool lm_result_active(void);
/*
 * outcome: a word per command (switched, already-switched, aborted, ...);
 * authoritative: "source", "dest" or "unknown"; changed: anything changed.
 * NULL keeps the previous value.
 */
void lm_result_set(const char *outcome, const char *authoritative, bool changed);
void lm_result_changed(void);
/* A device the command acted on; leg: "source", "dest" or "unknown". */
void lm_result_device(const char *name, const char *state, const char *leg);
/* Print the object for exit code rc (reason: the last error message). */
void lm_result_end(int rc);
/* s as a JSON string, quoted and escaped. */
void lm_json_str(FILE *f, const char *s);
/* Name of an exit code, as in the "error.name" field. */
const char *lm_exit_name(int rc);

#endif
