/* SPDX-License-Identifier: Apache-2.0 */
/* The per-request check inside a php-cgi worker, for the guard (suwrap_guard.c): the same
 * policy code as suwrap and the gate (checks 1-12, then the pool's own rule), compiled into
 * the guard as position-independent C++ behind this C interface. Used when the worker takes
 * requests from the web server itself (a direct pool); nothing here throws across it. */
#ifndef SUWRAP_GUARD_CHECK_H
#define SUWRAP_GUARD_CHECK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the check answered for one request. */
struct suwrap_check_outcome {
	int allowed;          /* 1: the request may run here; 0: refused */
	int http_status;      /* 200, or the refusal's 403, 404, 500 */
	char verdict[16];     /* "allow", "deny", "error" */
	char check[32];       /* the check that refused ("" when allowed) */
	char reason[512];     /* why, as a person reads it */
	/* Allowed: the checked script's identity, and its physical path (valid until the next
	 * check in this process). */
	unsigned long long dev, ino;
	long long ctime_sec, ctime_nsec;
	const char *physical_path;
	/* Refused because the configuration moved on from what the pool was started with: the
	 * pool should end, so that the next request starts one that fits. */
	int retire;
};

/* In php-cgi's parent, before any request and so before any of the account's code: takes
 * the pool this process serves from its environment (set by whoever started php-cgi).
 * NULL when the worker checks requests; otherwise why it cannot (every request is then
 * refused). */
const char *suwrap_check_startup(void);

/* True when the process was started to check requests itself (SUWRAP_POOL_HANDLER set). */
int suwrap_check_wanted(void);

/* The check of one request whose params are `environment` ("NAME=value", `count` of them).
 * An allowed request is marked started on the pool's board (shared memory the gate looks
 * at; no system call), with its wall_seconds and the record to write if it runs past them
 * (the gate kills the worker then, from outside the account's processes); one that cannot
 * be marked there is refused (503). Nothing is marked without a board. */
void suwrap_check_request(const char *const *environment, size_t count, struct suwrap_check_outcome *out);

/* The environment an allowed request's PHP sees (what suwrap gives a handler: the allowed
 * params, then suwrap's own), valid until the next check. */
size_t suwrap_check_environment_count(void);
const char *suwrap_check_environment_entry(size_t index);
/* The allowed request ended: marked on the board. */
void suwrap_check_request_ended(void);

/* The guard's .user.ini verdict remembered with the allowed script's walk (forgotten with
 * it, when inotify reports a change on a directory from / down to the script), or NULL. */
const char *suwrap_check_user_ini_note(void);
void suwrap_check_user_ini_remember(const char *note);

/* Its value of NAME, or NULL. */
const char *suwrap_check_getenv(const char *name, size_t length);

#ifdef __cplusplus
}
#endif

#endif
