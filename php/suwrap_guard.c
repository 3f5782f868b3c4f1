// SPDX-License-Identifier: Apache-2.0
// suwrap_guard: a Zend extension that php-cgi loads only when suwrap (per request) or the
// warm-mode gate starts it, through PHP_INI_SCAN_DIR naming a root-owned directory whose one
// ini file loads this library (never through the account's ini, never through argv: php-cgi
// ignores its command line for a query string that starts with '-').
//
// It makes three promises, each checked before any PHP code of the request runs:
//   1. The primary script PHP compiles is the file suwrap (or the gate) checked: the same
//      device, inode and change time, owned by this process's user. suwrap passes what it
//      checked as SUWRAP_SCRIPT_ID (per request: the environment; warm: a FastCGI param the
//      gate sets after dropping any of the client's). The guard opens the script itself,
//      compares, and hands PHP that very descriptor, so nothing can be swapped in between.
//   2. A .user.ini is read only when nobody but this user or root could have written it:
//      every directory from / down to the script's, and every .user.ini in them, is owned
//      by this user or root and writable by neither group nor others. Otherwise .user.ini
//      files are not read at all for the request (user_ini.filename is emptied before the
//      SAPI reads them).
//   3. auto_prepend_file and auto_append_file run only from such a trusted file: opened by
//      the guard from / component by component, links followed by hand, every directory on
//      the way and the file itself owned by this user or root and writable by neither group
//      nor others; PHP compiles the descriptor the guard checked.
// Whatever cannot be checked refuses the request: 403, nothing of it runs, and the reason
// goes to PHP's error log (the web server's error log, through php-cgi's stderr).
#include <php.h>
#include <SAPI.h>
#include <php_variables.h>
#include <zend_extensions.h>
#include <zend_compile.h>
#include <zend_ini.h>
#include <zend_stream.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard_check.h"

#ifdef ZTS
#error "suwrap_guard keeps its per-request state in one static: php-cgi is built without ZTS"
#endif

#define GUARD_NAME "suwrap_guard"
#define IDENTITY_NAME "SUWRAP_SCRIPT_ID"
#define MAX_LINKS 40

struct identity {
	unsigned long long dev, ino;
	long long ctime_sec, ctime_nsec;
};

// One request at a time (php-cgi serves requests one after the other in each process).
static struct {
	bool have_identity;
	struct identity checked;
	bool started;         // the first compile of this request was seen
	bool prepend_seen;    // auto_prepend_file was judged
	bool primary_bound;   // the primary script was opened and compared
	char problem[512];    // found at activation: refuse at the first compile
	int problem_status;   // its HTTP status (403 unless the check said otherwise)
} request;

// A direct pool: php-cgi takes requests from the web server itself, and the guard makes the
// per-request check (guard_check.h) before anything of the request is read or run. Set at
// startup, in php-cgi's parent, from the environment its starter gave it.
static bool checking;
static const char *check_problem;  // the pool cannot be checked against: refuse everything
static void (*next_import_environment)(zval *array_ptr);
// The allowed request was told to the gate as started: its end is told too.
static bool request_running;
// The configuration moved on from this pool: once the refusal is answered, php-cgi's parent
// is asked to end (the supervisor then ends the pool; the next request starts a fitting one).
static bool retire_after;
static char *(*next_getenv)(const char *name, size_t name_len);

static zend_op_array *(*next_compile_file)(zend_file_handle *file_handle, int type);
static zend_result (*next_post_startup)(void);

// This process's user, taken once at startup. suwrap (per request, after its proved drop)
// and the gate (warm, itself running as the account) start php-cgi already as the account:
// real, effective and saved uid all the account's, no capability left. Such a process can
// set its uids only to those it has, and php-cgi's FastCGI children inherit them, so
// geteuid() asked again for every directory judged would only give the same answer.
static uid_t user;

static bool owner_trusted(const struct stat *st)
{
	return st->st_uid == user || st->st_uid == 0;
}

static bool writable_by_others(const struct stat *st)
{
	return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

// Nothing of the request runs: a 403, the reason in PHP's error log, and a bailout to the
// zend_try around the script's execution (request shutdown then sends the headers).
static ZEND_COLD ZEND_NORETURN void refuse_with(int status, const char *why)
{
	char line[768];
	snprintf(line, sizeof(line), GUARD_NAME ": refused %s: %s",
		SG(request_info).path_translated ? SG(request_info).path_translated : "(no script)", why);
	php_log_err(line);
	if (!SG(headers_sent)) {
		const char *body = status == 404 ? "404 Not Found\n" : status == 500 ? "500 Internal Server Error\n"
			: status == 503 ? "503 Service Unavailable\n" : "403 Forbidden\n";
		SG(sapi_headers).http_response_code = status == 404 || status == 500 || status == 503 ? status : 403;
		sapi_add_header_ex("Content-Type: text/plain", sizeof("Content-Type: text/plain") - 1, 1, 1);
		PHPWRITE(body, strlen(body));
	}
	EG(exit_status) = 1;
	zend_bailout();
}

static ZEND_COLD ZEND_NORETURN void refuse(const char *why)
{
	refuse_with(403, why);
}

// "dev:ino:ctime_sec:ctime_nsec", decimal, nothing else.
static bool parse_identity(const char *text, struct identity *out)
{
	unsigned long long parts[4];
	const char *p = text;
	for (int i = 0; i < 4; i++) {
		if (*p < '0' || *p > '9') return false;
		unsigned long long value = 0;
		while (*p >= '0' && *p <= '9') {
			if (value > (ULLONG_MAX - 9) / 10) return false;
			value = value * 10 + (unsigned long long)(*p - '0');
			p++;
		}
		parts[i] = value;
		if (i < 3 && *p++ != ':') return false;
	}
	if (*p != '\0' || parts[2] > LLONG_MAX || parts[3] > 999999999ULL) return false;
	out->dev = parts[0];
	out->ino = parts[1];
	out->ctime_sec = (long long)parts[2];
	out->ctime_nsec = (long long)parts[3];
	return true;
}

static bool same_identity(const struct stat *st, const struct identity *id)
{
	return (unsigned long long)st->st_dev == id->dev && (unsigned long long)st->st_ino == id->ino &&
		(long long)st->st_ctim.tv_sec == id->ctime_sec && (long long)st->st_ctim.tv_nsec == id->ctime_nsec;
}

// --- .user.ini ----------------------------------------------------------------------------

// True when nobody but this user or root can have written a user ini file that php-cgi
// reads for `script`: it reads one in every directory from the (client-supplied)
// DOCUMENT_ROOT down to the script's, so every directory from / down is judged.
// Judged by name, as php-cgi then reads them (by name too): from / down, each directory is
// judged before a name in it is looked up, so once it is found this user's or root's alone,
// no one else can change what the next name means, nor the directory's own mode or owner.
// A descriptor held per directory (open, fstat, close) would bind nothing php-cgi uses.
static bool user_ini_trusted(const char *script, const char *ini_name, char *why, size_t why_size)
{
	if (strchr(ini_name, '/') != NULL) {
		snprintf(why, why_size, "user_ini.filename holds a '/'");
		return false;
	}
	if (script == NULL || script[0] != '/' || strlen(script) >= PATH_MAX) {
		snprintf(why, why_size, "the script path is not absolute");
		return false;
	}
	const size_t ini_length = strlen(ini_name);
	if (ini_length > NAME_MAX) {
		snprintf(why, why_size, "cannot look at a %s: %s", ini_name, strerror(ENAMETOOLONG));
		return false;
	}
	const size_t script_dir_length = (size_t)(strrchr(script, '/') - script);  // 0 for "/x.php"
	char path[PATH_MAX + 1 + NAME_MAX + 1];
	size_t length = 0;  // script[0, length) is the directory judged now; 0 is /
	for (;;) {
		if (length == 0) {
			strcpy(path, "/");
		} else {
			memcpy(path, script, length);
			path[length] = '\0';
		}
		struct stat st;
		if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			snprintf(why, why_size, "cannot open a directory on the way: %s", strerror(errno));
			return false;
		}
		if (!S_ISDIR(st.st_mode)) {  // a link too: php-cgi would follow it where no one judged
			snprintf(why, why_size, "cannot open a directory on the way: %s", strerror(ENOTDIR));
			return false;
		}
		if (!owner_trusted(&st) || writable_by_others(&st)) {
			snprintf(why, why_size, "a directory on the way is writable by someone else");
			return false;
		}
		path[length] = '/';
		memcpy(path + length + 1, ini_name, ini_length + 1);
		if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!S_ISREG(st.st_mode) || !owner_trusted(&st) || writable_by_others(&st)) {
				snprintf(why, why_size, "a %s is not this user's or root's alone", ini_name);
				return false;
			}
		} else if (errno != ENOENT) {
			snprintf(why, why_size, "cannot look at a %s: %s", ini_name, strerror(errno));
			return false;
		}
		// The next component of the script's directory.
		while (length < script_dir_length && script[length] == '/') length++;
		if (length == script_dir_length) return true;
		while (length < script_dir_length && script[length] != '/') length++;
	}
}

// No .user.ini file is read for this request (the SAPI reads them after this activation).
static bool no_user_ini(void)
{
	zend_string *name = zend_string_init("user_ini.filename", sizeof("user_ini.filename") - 1, 0);
	const zend_result altered = zend_alter_ini_entry_chars(name, "", 0, ZEND_INI_SYSTEM, ZEND_INI_STAGE_RUNTIME);
	zend_string_release(name);
	return altered == SUCCESS;
}

// Before the SAPI reads .user.ini files (zend_extension activation comes first in
// php_request_startup): if any could be someone else's, none is read for this request.
static void guard_user_ini(void)
{
	const char *ini_name = INI_STR("user_ini.filename");
	if (ini_name == NULL || ini_name[0] == '\0') return;
	char why[256];
	bool trusted;
	// A direct pool's worker remembers the verdict with the script's walk: both judge the
	// same directories, and any change on them forgets both (guard_check.h).
	const char *note = checking ? suwrap_check_user_ini_note() : NULL;
	const size_t ini_length = strlen(ini_name);
	if (note != NULL && strncmp(note, ini_name, ini_length) == 0 && note[ini_length] == '\n' &&
		(note[ini_length + 1] == 'T' || note[ini_length + 1] == 'F')) {
		trusted = note[ini_length + 1] == 'T';
		snprintf(why, sizeof(why), "%s", note + ini_length + 2);
	} else {
		trusted = user_ini_trusted(SG(request_info).path_translated, ini_name, why, sizeof(why));
		if (checking && ini_length < 256) {
			char remember[256 + 2 + sizeof(why)];
			snprintf(remember, sizeof(remember), "%s\n%c%s", ini_name, trusted ? 'T' : 'F', trusted ? "" : why);
			suwrap_check_user_ini_remember(remember);
		}
	}
	if (trusted) return;
	if (!no_user_ini()) {
		snprintf(request.problem, sizeof(request.problem), "%s, and user ini files cannot be turned off", why);
		return;
	}
	char line[512];
	snprintf(line, sizeof(line), GUARD_NAME ": %s files not read for %s: %s", ini_name,
		SG(request_info).path_translated, why);
	php_log_err(line);
}

// --- the check, in a direct pool ----------------------------------------------------------

// $_SERVER, $_ENV and getenv() with no name: the allowed request's environment, as suwrap
// gives a handler, and nothing else (not the raw params, not php-cgi's own environment).
static void checked_import_environment(zval *array_ptr)
{
	const int filter = Z_TYPE(PG(http_globals)[TRACK_VARS_ENV]) == IS_ARRAY &&
		Z_ARR_P(array_ptr) == Z_ARR(PG(http_globals)[TRACK_VARS_ENV]) ? PARSE_ENV : PARSE_SERVER;
	const size_t count = suwrap_check_environment_count();
	for (size_t i = 0; i < count; i++) {
		const char *entry = suwrap_check_environment_entry(i);
		const char *equals = entry != NULL ? strchr(entry, '=') : NULL;
		if (equals == NULL || equals == entry) continue;
		char name[256];
		const size_t name_length = (size_t)(equals - entry);
		if (name_length >= sizeof(name)) continue;
		memcpy(name, entry, name_length);
		name[name_length] = '\0';
		char *value = estrdup(equals + 1);
		size_t new_length = 0;
		if (sapi_module.input_filter(filter, name, &value, strlen(value), &new_length))
			php_register_variable_safe(name, value, new_length, array_ptr);
		efree(value);
	}
}

// getenv(NAME): the same environment.
static char *checked_getenv(const char *name, size_t name_len)
{
	return (char *)suwrap_check_getenv(name, name_len);
}

// Raw, as the check reads them: the filter extension's own filter is not ready before its
// request start-up, and refuses every value.
static unsigned int pass_through(int arg, const char *var, char **val, size_t val_len, size_t *new_val_len)
{
	(void)arg;
	(void)var;
	(void)val;
	if (new_val_len != NULL) *new_val_len = val_len;
	return 1;
}

// The params php-cgi holds for this request, as "NAME=value": what php-cgi's own import
// gives (its process environment left out), before PHP makes its superglobals.
static char **request_params(size_t *count)
{
	// The superglobals of the last request were destroyed at its end but not reset, and
	// php-cgi's import would copy them: this request has none yet.
	ZVAL_UNDEF(&PG(http_globals)[TRACK_VARS_ENV]);
	ZVAL_UNDEF(&PG(http_globals)[TRACK_VARS_SERVER]);
	zval params;
	array_init(&params);
	extern char **environ;
	char **saved = environ;
	char *none[] = {NULL};
	environ = none;
	unsigned int (*filter)(int, const char *, char **, size_t, size_t *) = sapi_module.input_filter;
	sapi_module.input_filter = pass_through;
	// php-cgi may make $_ENV first and copy it (variables_order with E): that must be raw
	// too, and is not kept.
	php_import_environment_variables = next_import_environment;
	next_import_environment(&params);
	php_import_environment_variables = checked_import_environment;
	sapi_module.input_filter = filter;
	environ = saved;
	zval_ptr_dtor(&PG(http_globals)[TRACK_VARS_ENV]);
	ZVAL_UNDEF(&PG(http_globals)[TRACK_VARS_ENV]);
	zval_ptr_dtor(&PG(http_globals)[TRACK_VARS_SERVER]);
	ZVAL_UNDEF(&PG(http_globals)[TRACK_VARS_SERVER]);
	char **list = ecalloc(zend_hash_num_elements(Z_ARRVAL(params)) + 1, sizeof(char *));
	size_t n = 0;
	zend_string *key;
	zval *value;
	ZEND_HASH_FOREACH_STR_KEY_VAL(Z_ARRVAL(params), key, value) {
		// A name PHP made an array of ("a[b]") is not passed on.
		if (key == NULL || Z_TYPE_P(value) != IS_STRING) continue;
		const size_t length = ZSTR_LEN(key) + 1 + Z_STRLEN_P(value);
		char *entry = emalloc(length + 1);
		memcpy(entry, ZSTR_VAL(key), ZSTR_LEN(key));
		entry[ZSTR_LEN(key)] = '=';
		memcpy(entry + ZSTR_LEN(key) + 1, Z_STRVAL_P(value), Z_STRLEN_P(value));
		entry[length] = '\0';
		list[n++] = entry;
	} ZEND_HASH_FOREACH_END();
	zval_ptr_dtor(&params);
	*count = n;
	return list;
}

// --- what a request leaves behind, in a direct pool ------------------------------------------

// After the request: the gate told it ended, and the processes it started and left running
// as this worker's children ended (those that left it are the gate's to end).
static void guard_deactivate(void)
{
	if (!checking) return;
	if (request_running) {
		request_running = false;
		suwrap_check_request_ended();
	}
	if (retire_after) {
		retire_after = false;
		kill(getppid(), SIGTERM);
	}
	// Most requests leave no child at all, and the kernel says so in one call: waitid() fails
	// with ECHILD only when this process has no child, running, stopped or a zombie (__WALL:
	// whatever signal it was made to send at its end). Nothing is reaped here (WNOWAIT).
	// Any other answer, an error included, goes on to the list.
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) != 0 && errno == ECHILD) return;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	// One read of the list holds a few hundred children: read again until it is empty (at
	// most 100 rounds, a millisecond apart), so that a request that started more leaves none
	// of them either. Never waits for one: a child held stopped by a tracer would hold the
	// worker; it stays the worker's child, killed again after the next request.
	for (int round = 0; round < 100; round++) {
		const int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) return;
		char list[4096];
		const ssize_t n = read(fd, list, sizeof(list) - 1);
		close(fd);
		if (n <= 0) return;
		list[n] = '\0';
		bool any = false;
		for (char *p = list; *p != '\0';) {
			char *end = NULL;
			const long pid = strtol(p, &end, 10);
			if (end == p) break;
			if (pid > 0) {
				kill((pid_t)pid, SIGKILL);
				if (waitpid((pid_t)pid, NULL, WNOHANG | __WALL) != (pid_t)pid) any = true;
			}
			p = end;
		}
		if (!any) return;
		usleep(1000);
	}
}

// The check, made before the SAPI reads .user.ini and before anything of the request runs.
// Allowed: the checked identity is what the primary script must be, and PHP is handed the
// checked physical path. Refused: nothing runs; the status is the check's.
static void check_request(void)
{
	if (check_problem != NULL) {
		snprintf(request.problem, sizeof(request.problem), "%s", check_problem);
		request.problem_status = 500;
		return;
	}
	if (php_import_environment_variables != checked_import_environment) {
		next_import_environment = php_import_environment_variables;
		php_import_environment_variables = checked_import_environment;
	}
	if (sapi_module.getenv != checked_getenv) {
		next_getenv = sapi_module.getenv;
		sapi_module.getenv = checked_getenv;
	}
	size_t count = 0;
	char **params = request_params(&count);
	struct suwrap_check_outcome outcome;
	suwrap_check_request((const char *const *)params, count, &outcome);
	for (size_t i = 0; i < count; i++) efree(params[i]);
	efree(params);
	if (!outcome.allowed) {
		retire_after = outcome.retire != 0;
		snprintf(request.problem, sizeof(request.problem), "%s (check %s)", outcome.reason, outcome.check);
		request.problem_status = outcome.http_status;
		return;
	}
	request.checked.dev = outcome.dev;
	request.checked.ino = outcome.ino;
	request.checked.ctime_sec = outcome.ctime_sec;
	request.checked.ctime_nsec = outcome.ctime_nsec;
	request.have_identity = true;
	if (SG(request_info).path_translated != NULL) efree(SG(request_info).path_translated);
	SG(request_info).path_translated = estrdup(outcome.physical_path);
	request_running = true;
}

static void guard_activate(void)
{
	memset(&request, 0, sizeof(request));
	if (checking) {
		check_request();
		if (request.problem[0] == '\0') {
			guard_user_ini();
		} else if (!no_user_ini()) {
			// A refused request reads nothing of the path it named: php-cgi's start-up would
			// read the .user.ini files on the way to it (and start what they ask, a session
			// writing where they say) before the refusal at the first compile. Without a
			// script to go to, php-cgi answers 404 and reads none.
			if (SG(request_info).path_translated != NULL) efree(SG(request_info).path_translated);
			SG(request_info).path_translated = NULL;
		}
		return;
	}
	char *id = sapi_getenv(IDENTITY_NAME, sizeof(IDENTITY_NAME) - 1);
	if (id == NULL) {
		snprintf(request.problem, sizeof(request.problem), "no " IDENTITY_NAME ": php-cgi was not started by suwrap");
	} else {
		request.have_identity = parse_identity(id, &request.checked);
		if (!request.have_identity)
			snprintf(request.problem, sizeof(request.problem), IDENTITY_NAME " is malformed");
		efree(id);
	}
	guard_user_ini();
}

// --- opening what PHP compiles ----------------------------------------------------------------

// What PHP compiles is opened with O_NONBLOCK, so that a FIFO in its place cannot stop the
// worker in open(). Only a regular file is handed to PHP, and on a regular file the flag
// changes nothing (a read neither waits nor fails for it), so it is left set: one system
// call less per file.

// Gives PHP `fd` as the file to compile, in place of whatever the handle held.
static void hand_over(zend_file_handle *file_handle, int fd)
{
	FILE *fp = fdopen(fd, "rb");
	if (fp == NULL) {
		close(fd);
		refuse("cannot use the opened file");
	}
	if (file_handle->type == ZEND_HANDLE_FP && file_handle->handle.fp != NULL) {
		fclose(file_handle->handle.fp);
	} else if (file_handle->type == ZEND_HANDLE_STREAM && file_handle->handle.stream.closer != NULL &&
		file_handle->handle.stream.handle != NULL) {
		file_handle->handle.stream.closer(file_handle->handle.stream.handle);
	}
	if (file_handle->buf != NULL) {
		efree(file_handle->buf);
		file_handle->buf = NULL;
		file_handle->len = 0;
	}
	memset(&file_handle->handle, 0, sizeof(file_handle->handle));
	file_handle->type = ZEND_HANDLE_FP;
	file_handle->handle.fp = fp;
}

// The primary script: opened here, compared with what suwrap checked, then compiled from
// this descriptor.
static void bind_primary(zend_file_handle *file_handle)
{
	if (!request.have_identity) refuse(request.problem[0] ? request.problem : "no checked identity");
	const char *path = ZSTR_VAL(file_handle->filename);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) refuse("the script cannot be opened");
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		refuse("the script is not a regular file");
	}
	if (!same_identity(&st, &request.checked) || st.st_uid != user) {
		close(fd);
		refuse("the script changed after it was checked (device, inode, change time or owner differ)");
	}
	hand_over(file_handle, fd);
	request.primary_bound = true;
}

// Opens `path` (absolute) as this user, following links by hand: every directory passed
// through — and so every link read — must be this user's or root's and writable by neither
// group nor others, and so must the file. Returns the file's descriptor, or -1 with `why`.
static int open_trusted(const char *path, char *why, size_t why_size)
{
	char pending[2 * PATH_MAX];
	if (path[0] != '/' || strlen(path) >= sizeof(pending)) {
		snprintf(why, why_size, "not an absolute path");
		return -1;
	}
	strcpy(pending, path);
	int links = 0;
	int dir = -1;
	char *rest = pending;
	for (;;) {
		if (*rest == '/' || dir < 0) {
			if (dir >= 0) close(dir);
			dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		}
		struct stat st;
		if (dir < 0 || fstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(why, why_size, "cannot open a directory on the way");
			if (dir >= 0) close(dir);
			return -1;
		}
		if (!owner_trusted(&st) || writable_by_others(&st)) {
			snprintf(why, why_size, "a directory on the way is writable by someone else");
			close(dir);
			return -1;
		}
		while (*rest == '/') rest++;
		char *end = strchr(rest, '/');
		if (end != NULL) *end = '\0';
		const bool last = end == NULL || end[1] == '\0';
		char component[NAME_MAX + 1];
		if (strlen(rest) > NAME_MAX) {
			snprintf(why, why_size, "a component is too long");
			close(dir);
			return -1;
		}
		strcpy(component, rest);
		rest = end == NULL ? rest + strlen(rest) : end + 1;
		if (component[0] == '\0' || strcmp(component, ".") == 0) {
			if (last) {
				snprintf(why, why_size, "names a directory");
				close(dir);
				return -1;
			}
			continue;
		}
		if (fstatat(dir, component, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			snprintf(why, why_size, "a component cannot be found: %s", strerror(errno));
			close(dir);
			return -1;
		}
		if (S_ISLNK(st.st_mode)) {
			// The link lies in a directory only this user or root can change: what it says
			// is theirs. Its target is walked the same way, from / if it is absolute.
			char target[PATH_MAX];
			const ssize_t n = readlinkat(dir, component, target, sizeof(target) - 1);
			if (++links > MAX_LINKS || n <= 0) {
				snprintf(why, why_size, "too many links, or a link that cannot be read");
				close(dir);
				return -1;
			}
			target[n] = '\0';
			char joined[2 * PATH_MAX];
			if ((size_t)snprintf(joined, sizeof(joined), "%s%s%s", target, *rest ? "/" : "", rest) >= sizeof(joined)) {
				snprintf(why, why_size, "the path is too long");
				close(dir);
				return -1;
			}
			strcpy(pending, joined);
			rest = pending;
			if (*rest != '/') continue;  // relative: from the link's directory
			close(dir);
			dir = -1;
			continue;
		}
		if (last) {
			const int fd = openat(dir, component, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
			close(dir);
			if (fd < 0 || fstat(fd, &st) != 0) {
				snprintf(why, why_size, "cannot be opened: %s", strerror(errno));
				if (fd >= 0) close(fd);
				return -1;
			}
			if (!S_ISREG(st.st_mode) || !owner_trusted(&st) || writable_by_others(&st)) {
				snprintf(why, why_size, "the file is not this user's or root's alone");
				close(fd);
				return -1;
			}
			return fd;
		}
		const int next = openat(dir, component, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dir);
		dir = next;
	}
}

// auto_prepend_file / auto_append_file: found as PHP finds it (include_path for a relative
// name), then opened and judged by open_trusted, and compiled from that descriptor. A name
// that does not resolve to an absolute path is refused, not left to PHP: its own open would
// still try the script's directory, or a stream wrapper (phar://, data:), neither judged.
static void bind_trusted(zend_file_handle *file_handle)
{
	zend_string *resolved = NULL;
	const char *name = ZSTR_VAL(file_handle->filename);
	if (name[0] != '/') {
		resolved = zend_resolve_path(file_handle->filename);
		if (resolved == NULL || ZSTR_VAL(resolved)[0] != '/') {
			char reason[512];
			snprintf(reason, sizeof(reason), "%s: not found as a file on include_path (a stream wrapper, or a name PHP "
			         "would look for beside the script, is never compiled)", ZSTR_VAL(file_handle->filename));
			if (resolved != NULL) zend_string_release(resolved);
			refuse(reason);
		}
		name = ZSTR_VAL(resolved);
	}
	char why[256];
	const int fd = open_trusted(name, why, sizeof(why));
	if (fd < 0) {
		char reason[512];
		snprintf(reason, sizeof(reason), "%s: %s", ZSTR_VAL(file_handle->filename), why);
		if (resolved != NULL) zend_string_release(resolved);
		refuse(reason);
	}
	hand_over(file_handle, fd);
	if (file_handle->opened_path == NULL)
		file_handle->opened_path = resolved != NULL ? resolved : zend_string_copy(file_handle->filename);
	else if (resolved != NULL)
		zend_string_release(resolved);
}

// True when `file_handle` is the auto_prepend_file that zend_execute_scripts() compiles
// before the primary script (it names it by the setting's value).
static bool is_prepend(const zend_file_handle *file_handle)
{
	const char *prepend = PG(auto_prepend_file);
	return prepend != NULL && prepend[0] != '\0' && strcmp(ZSTR_VAL(file_handle->filename), prepend) == 0;
}

static zend_op_array *guard_compile_file(zend_file_handle *file_handle, int type)
{
	if (!request.started) {
		request.started = true;
		if (request.problem[0] != '\0') refuse_with(request.problem_status, request.problem);
	}
	if (file_handle->filename == NULL) refuse("a file without a name");
	// What is compiled outside any execution is one of the three files of
	// php_execute_script(): auto_prepend_file, the primary script, auto_append_file, in that
	// order (php-cgi 8.2 does not mark the primary handle). Includes are compiled while
	// something executes: they are the account's own code's choice.
	if (EG(current_execute_data) == NULL) {
		if (!request.primary_bound && !request.prepend_seen && is_prepend(file_handle)) {
			request.prepend_seen = true;
			bind_trusted(file_handle);
		} else if (!request.primary_bound) {
			bind_primary(file_handle);
		} else {
			bind_trusted(file_handle);
		}
	}
	return next_compile_file(file_handle, type);
}

// After every other extension's post-startup (opcache installs its compile hook there), so
// that this check wraps theirs: a script served from opcache is still opened and compared.
static zend_result guard_post_startup(void)
{
	if (next_post_startup != NULL) {
		zend_result (*next)(void) = next_post_startup;
		next_post_startup = NULL;
		if (next() != SUCCESS) return FAILURE;
	}
	next_compile_file = zend_compile_file;
	zend_compile_file = guard_compile_file;
	return SUCCESS;
}

static int guard_startup(zend_extension *extension)
{
	(void)extension;
	user = geteuid();
	if (suwrap_check_wanted()) {
		checking = true;
		check_problem = suwrap_check_startup();
		// The pool's socket stays php-cgi's: the programs PHP starts do not get it.
		if (check_problem == NULL && fcntl(STDIN_FILENO, F_SETFD, FD_CLOEXEC) != 0)
			check_problem = "cannot keep the pool's socket from PHP's programs";
		// php-cgi's parent and its workers (which inherit it) are not the account's to trace,
		// nor is /proc/<worker>/fd: the programs PHP starts, the account's other processes,
		// cannot write into a worker's memory (the board) or take the pool's socket from it.
		if (check_problem == NULL && prctl(PR_SET_DUMPABLE, 0) != 0)
			check_problem = "cannot make php-cgi undumpable";
	}
	next_post_startup = zend_post_startup_cb;
	zend_post_startup_cb = guard_post_startup;
	return SUCCESS;
}

ZEND_DLEXPORT zend_extension zend_extension_entry = {
	GUARD_NAME,
	"0.1.0",
	"suwrap",
	"",
	"Apache-2.0",
	guard_startup,
	NULL,           /* shutdown */
	guard_activate,   /* per-request activation */
	guard_deactivate, /* per-request deactivation */
	NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	STANDARD_ZEND_EXTENSION_PROPERTIES
};

ZEND_DLEXPORT zend_extension_version_info extension_version_info = {
	ZEND_EXTENSION_API_NO,
	ZEND_EXTENSION_BUILD_ID
};
