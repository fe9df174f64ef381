// SPDX-License-Identifier: GPL-2.0
/*
 * compat32: a genuine 32-bit caller of move_phys_pages and move_pages.
 *
 * Built with gcc -m32 by movephys.syscall.compat and run once per call.
 * The request is key=value arguments (or, with no arguments, one line of
 * them on stdin); the answer is one JSON line on stdout:
 *
 *   {"ret": R, "errno": E, "status": [...], "addresses": [...], "query": {...}}
 *
 * Keys:
 *   which=move_phys_pages|move_pages|getpid   the call to make
 *   nr=N           syscall number in the i386 table
 *   pid=P          move_pages only: the pid argument (default 0)
 *   count=N        nr_pages argument
 *   pages=null | hex:BYTES | own
 *                  the pages array: NULL, raw bytes exactly as given (so the
 *                  test chooses 32- or 64-bit elements), or the 32-bit
 *                  addresses of this process's own pages (see own=)
 *   own=N          map and touch N private anonymous pages first
 *   nodes=null | LIST | queried
 *                  NULL, comma-separated int32 node ids, or the status
 *                  values of the query made first (see query_first=)
 *   status=null | N    NULL or an int32 array of N entries pre-filled
 *   fill=V         the pre-fill value (default 0x5A5A5A5A)
 *   flags=F        flags argument (decimal or 0x hex, may be negative)
 *   query_first=1  before the call, query the same pages (nodes NULL,
 *                  flags 0) and report it as "query"
 *
 * Exit status: 0 when the answer was printed, 2 for a malformed request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_ENTRIES 4096
#define MAX_ARGS 32

struct request {
	const char *which;
	long nr;
	long pid;
	long count;
	const char *pages;
	long own;
	const char *nodes;
	const char *status;
	long fill;
	long flags;
	int query_first;
};

struct answer {
	long ret;
	int err;
	int32_t *status;
	long status_len;
};

static unsigned char page_bytes[MAX_ENTRIES * 8];
static int32_t node_values[MAX_ENTRIES];
static int32_t status_values[MAX_ENTRIES];
static int32_t query_status[MAX_ENTRIES];
static uint32_t own_addresses[MAX_ENTRIES];

static void die(const char *what, const char *value)
{
	printf("{\"error\": \"%s: %s\"}\n", what, value);
	exit(2);
}

static long number(const char *key, const char *text)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 0);
	if (errno || *text == '\0' || *end != '\0')
		die(key, text);
	return (long)value;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t parse_hex(const char *text)
{
	size_t len = strlen(text), i;

	if (len % 2 || len / 2 > sizeof(page_bytes))
		die("pages", "hex bytes of odd length or too long");
	for (i = 0; i < len / 2; i++) {
		int high = hex_digit(text[2 * i]), low = hex_digit(text[2 * i + 1]);

		if (high < 0 || low < 0)
			die("pages", "not hex");
		page_bytes[i] = (unsigned char)(high << 4 | low);
	}
	return len / 2;
}

static long parse_nodes(const char *text)
{
	long n = 0;
	char *copy = strdup(text), *save = NULL, *item;

	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (n >= MAX_ENTRIES)
			die("nodes", "too many");
		node_values[n++] = (int32_t)number("nodes", item);
	}
	free(copy);
	return n;
}

static void apply(struct request *req, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t klen;

	if (!eq)
		die("argument without '='", arg);
	klen = (size_t)(eq - arg);
#define KEY(name) (klen == strlen(name) && strncmp(arg, name, klen) == 0)
	if (KEY("which"))
		req->which = eq + 1;
	else if (KEY("nr"))
		req->nr = number("nr", eq + 1);
	else if (KEY("pid"))
		req->pid = number("pid", eq + 1);
	else if (KEY("count"))
		req->count = number("count", eq + 1);
	else if (KEY("pages"))
		req->pages = eq + 1;
	else if (KEY("own"))
		req->own = number("own", eq + 1);
	else if (KEY("nodes"))
		req->nodes = eq + 1;
	else if (KEY("status"))
		req->status = eq + 1;
	else if (KEY("fill"))
		req->fill = number("fill", eq + 1);
	else if (KEY("flags"))
		req->flags = number("flags", eq + 1);
	else if (KEY("query_first"))
		req->query_first = (int)number("query_first", eq + 1);
	else
		die("unknown key", arg);
#undef KEY
}

static void map_own_pages(long count)
{
	long page = sysconf(_SC_PAGESIZE), i;
	unsigned char *area;

	if (count < 0 || count > MAX_ENTRIES)
		die("own", "out of range");
	if (count == 0)
		return;
	area = mmap(NULL, (size_t)(count * page), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		die("mmap", strerror(errno));
	for (i = 0; i < count; i++) {
		area[i * page] = (unsigned char)(i + 1);
		own_addresses[i] = (uint32_t)(uintptr_t)(area + i * page);
	}
}

static long call(const struct request *req, void *pages, void *nodes, int32_t *status,
		 long flags, int *err)
{
	long ret;

	errno = 0;
	if (strcmp(req->which, "move_pages") == 0)
		ret = syscall(req->nr, req->pid, req->count, pages, nodes, status, flags);
	else if (strcmp(req->which, "move_phys_pages") == 0)
		ret = syscall(req->nr, req->count, pages, nodes, status, flags);
	else if (strcmp(req->which, "getpid") == 0)
		ret = syscall(SYS_getpid);
	else
		die("which", req->which);
	*err = ret < 0 ? errno : 0;
	return ret;
}

static void print_result(const char *name, long ret, int err, const int32_t *status, long len)
{
	long i;

	printf("\"%s\": {\"ret\": %ld, \"errno\": %d, \"status\": [", name, ret, err);
	for (i = 0; i < len; i++)
		printf("%s%d", i ? ", " : "", status[i]);
	printf("]}");
}

static int read_stdin_request(struct request *req)
{
	static char line[MAX_ENTRIES * 20];
	char *save = NULL, *item;

	if (!fgets(line, sizeof(line), stdin))
		return 0;
	line[strcspn(line, "\n")] = '\0';
	for (item = strtok_r(line, " ", &save); item; item = strtok_r(NULL, " ", &save))
		apply(req, item);
	return 1;
}

int main(int argc, char **argv)
{
	struct request req = { .which = "move_phys_pages", .pages = "null", .nodes = "null",
			       .status = "null", .fill = 0x5A5A5A5A };
	void *pages = NULL, *nodes = NULL;
	int32_t *status = NULL;
	long status_len = 0, i, ret;
	int err;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			apply(&req, argv[i]);
	} else if (!read_stdin_request(&req)) {
		die("request", "none on argv or stdin");
	}

	map_own_pages(req.own);
	if (strcmp(req.pages, "own") == 0)
		pages = own_addresses;
	else if (strncmp(req.pages, "hex:", 4) == 0)
		pages = (parse_hex(req.pages + 4), page_bytes);
	else if (strcmp(req.pages, "null") != 0)
		die("pages", req.pages);

	if (strcmp(req.status, "null") != 0) {
		status_len = number("status", req.status);
		if (status_len < 0 || status_len > MAX_ENTRIES)
			die("status", "out of range");
		status = status_values;
	}
	for (i = 0; i < MAX_ENTRIES; i++)
		status_values[i] = query_status[i] = (int32_t)req.fill;

	printf("{");
	if (req.query_first) {
		ret = call(&req, pages, NULL, query_status, 0, &err);
		print_result("query", ret, err, query_status, status_len);
		printf(", ");
	}
	if (strcmp(req.nodes, "queried") == 0)
		nodes = memcpy(node_values, query_status, sizeof(node_values));
	else if (strcmp(req.nodes, "null") != 0)
		nodes = (parse_nodes(req.nodes), node_values);

	ret = call(&req, pages, nodes, status, req.flags, &err);
	printf("\"ret\": %ld, \"errno\": %d, \"status\": [", ret, err);
	for (i = 0; i < status_len; i++)
		printf("%s%d", i ? ", " : "", status_values[i]);
	printf("], \"addresses\": [");
	for (i = 0; i < req.own; i++)
		printf("%s%u", i ? ", " : "", own_addresses[i]);
	printf("]}\n");
	return 0;
}
