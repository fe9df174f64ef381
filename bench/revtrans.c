/*
 * Reverse translation as fast as user space can do it (the bench's C baseline).
 *
 * Built at run time into a shared object by bench/clib.py and called through
 * cffi, so no process start is timed: a tiering daemon is a long-running
 * process too. Every fact of the interface (page size, pagemap bits, chunk
 * and merge sizes, syscall numbers) comes in from Python through struct
 * rt_config or the arguments: this file has none of its own.
 *
 * rt_translate: sort the wanted PFNs, walk /proc in pid order, read each
 * process's maps to take only its VMAs, pread its pagemap in large chunks
 * over those ranges, and test every present entry against a bitmap of the
 * wanted PFNs (one load and a mask per entry); only a hit pays a binary
 * search for its slot. It stops once every wanted PFN has an owner.
 *
 * rt_move: one move_pages call per owning process, with the addresses found.
 *
 * rt_time_probe: time single calls of move_pages or move_phys_pages on one
 * page of the caller, each call on its own clock, to find the flat cost per
 * call (bench/fixed_cost.py).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct rt_config {
	const char *proc;	/* "/proc", or a recorded tree in tests */
	const char *skip_vma;	/* a VMA pagemap has no entries for ([vsyscall]) */
	uint64_t page_size;
	uint64_t present_bit;
	uint64_t swapped_bit;
	uint64_t pfn_mask;
	uint64_t chunk_entries;	/* entries per pread */
	uint64_t merge_gap_pages; /* VMAs at most this far apart are read as one */
};

struct rt_stats {
	uint64_t processes;
	uint64_t vmas;
	uint64_t entries;
	uint64_t preads;
	uint64_t failed_calls;
};

struct rt_probe {
	long nr;		/* move_pages or move_phys_pages */
	int phys;		/* 1: move_phys_pages(n, pages, nodes, status, flags) */
	int query;		/* 1: nodes NULL, the call only reports the node */
	int node_a;		/* the page starts here */
	int node_b;		/* moves alternate b, a, b...; b == a moves nothing */
	int flags;
	uint64_t vaddr;		/* the caller's page */
};

/* Bitmaps above this many PFNs (2^36 = 256 TiB of 4 KiB pages) are not made. */
#define RT_BITMAP_LIMIT (1ULL << 36)

struct wanted {
	uint64_t *pfn;		/* sorted, distinct */
	size_t n;
	uint64_t *bitmap;	/* NULL: binary search every entry */
	uint64_t max;
	int32_t *pid;
	uint64_t *vaddr;
	size_t left;		/* wanted PFNs without an owner yet */
};

struct run {
	uint64_t first;		/* page number */
	uint64_t stop;
};

struct buffers {
	char *text;
	size_t text_size;
	struct run *runs;
	size_t runs_size;
	uint64_t *entries;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static size_t sort_distinct(uint64_t *values, size_t n)
{
	size_t i, out = 0;

	qsort(values, n, sizeof(*values), cmp_u64);
	for (i = 0; i < n; i++)
		if (out == 0 || values[out - 1] != values[i])
			values[out++] = values[i];
	return out;
}

static long slot_of(const struct wanted *w, uint64_t pfn)
{
	size_t low = 0, high = w->n;

	if (w->bitmap) {
		if (pfn > w->max || !(w->bitmap[pfn >> 6] & (1ULL << (pfn & 63))))
			return -1;
	}
	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (w->pfn[mid] < pfn)
			low = mid + 1;
		else
			high = mid;
	}
	return low < w->n && w->pfn[low] == pfn ? (long)low : -1;
}

/* The whole of a /proc file into buf->text (NUL-terminated); -1 unreadable, -2 no memory. */
static ssize_t read_text(const char *path, struct buffers *buf)
{
	size_t used = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t got;

		if (buf->text_size - used < 4096) {
			size_t size = buf->text_size ? buf->text_size * 2 : 1 << 16;
			char *grown = realloc(buf->text, size);

			if (!grown) {
				close(fd);
				return -2;
			}
			buf->text = grown;
			buf->text_size = size;
		}
		got = read(fd, buf->text + used, buf->text_size - used - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		used += (size_t)got;
	}
	close(fd);
	buf->text[used] = '\0';
	return (ssize_t)used;
}

static const char *skip_field(const char *p)
{
	while (*p == ' ')
		p++;
	while (*p && *p != ' ' && *p != '\n')
		p++;
	return p;
}

static int is_skipped(const char *name, const char *line_end, const char *skip)
{
	size_t len = strlen(skip);

	while (name < line_end && *name == ' ')
		name++;
	return skip[0] && (size_t)(line_end - name) == len && memcmp(name, skip, len) == 0;
}

/* Page-number runs covering the VMAs of a maps text; -1 when out of memory. */
static long maps_runs(const struct rt_config *cfg, struct buffers *buf, uint64_t *vmas)
{
	const char *p = buf->text;
	size_t count = 0;

	*vmas = 0;
	while (*p) {
		const char *line_end = strchr(p, '\n');
		char *end;
		uint64_t start, stop, first, last;
		const char *name;

		if (!line_end)
			line_end = p + strlen(p);
		start = strtoull(p, &end, 16);
		if (*end != '-')
			goto next;
		stop = strtoull(end + 1, &end, 16);
		name = end;
		for (int field = 0; field < 4; field++)	/* perms offset dev inode */
			name = skip_field(name);
		if (is_skipped(name, line_end, cfg->skip_vma) || stop <= start)
			goto next;
		(*vmas)++;
		first = start / cfg->page_size;
		last = stop / cfg->page_size;
		if (count && first - buf->runs[count - 1].stop <= cfg->merge_gap_pages) {
			if (last > buf->runs[count - 1].stop)
				buf->runs[count - 1].stop = last;
			goto next;
		}
		if (count == buf->runs_size) {
			size_t size = buf->runs_size ? buf->runs_size * 2 : 256;
			struct run *grown = realloc(buf->runs, size * sizeof(*grown));

			if (!grown)
				return -1;
			buf->runs = grown;
			buf->runs_size = size;
		}
		buf->runs[count].first = first;
		buf->runs[count].stop = last;
		count++;
next:
		p = *line_end ? line_end + 1 : line_end;
	}
	return (long)count;
}

static void match_entries(const struct rt_config *cfg, struct wanted *w, int pid,
			  const uint64_t *entries, size_t n, uint64_t first)
{
	const uint64_t want = cfg->present_bit, mask = cfg->present_bit | cfg->swapped_bit;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t e = entries[i];
		long slot;

		if ((e & mask) != want)
			continue;
		slot = slot_of(w, e & cfg->pfn_mask);
		if (slot < 0 || w->pid[slot])
			continue;	/* the first owner in pid order, as the numpy walk keeps */
		w->pid[slot] = pid;
		w->vaddr[slot] = (first + i) * cfg->page_size;
		w->left--;
	}
}

/* Add the owners one process maps; 0, or -ENOMEM. A vanished process adds nothing. */
static int scan_pid(const struct rt_config *cfg, struct wanted *w, int pid,
		    struct buffers *buf, struct rt_stats *stats)
{
	char path[4096];
	uint64_t vmas;
	ssize_t length;
	long runs, r;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/maps", cfg->proc, pid);
	length = read_text(path, buf);
	if (length == -2)
		return -ENOMEM;
	if (length <= 0)
		return 0;	/* gone, or a kernel thread (empty maps) */
	runs = maps_runs(cfg, buf, &vmas);
	if (runs < 0)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%d/pagemap", cfg->proc, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;	/* not ours to read: a daemon skips it the same way */
	stats->processes++;
	stats->vmas += vmas;
	for (r = 0; r < runs && w->left; r++) {
		uint64_t page;

		for (page = buf->runs[r].first; page < buf->runs[r].stop && w->left;) {
			uint64_t want = buf->runs[r].stop - page;
			ssize_t got;

			if (want > cfg->chunk_entries)
				want = cfg->chunk_entries;
			got = pread(fd, buf->entries, want * 8, (off_t)(page * 8));
			stats->preads++;
			if (got <= 0)
				break;	/* exited while read, or past the user address space */
			stats->entries += (uint64_t)got / 8;
			match_entries(cfg, w, pid, buf->entries, (size_t)got / 8, page);
			page += (uint64_t)got / 8;
		}
	}
	close(fd);
	return 0;
}

static int pid_of(const char *name)
{
	int pid = 0;

	for (; *name; name++) {
		if (*name < '0' || *name > '9')
			return 0;
		pid = pid * 10 + (*name - '0');
	}
	return pid;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Pids under cfg->proc in ascending order, as the numpy walk visits them. */
static long list_pids(const struct rt_config *cfg, int **pids)
{
	DIR *dir = opendir(cfg->proc);
	struct dirent *entry;
	size_t count = 0, size = 1024;

	if (!dir)
		return -errno;
	*pids = malloc(size * sizeof(**pids));
	if (!*pids) {
		closedir(dir);
		return -ENOMEM;
	}
	while ((entry = readdir(dir))) {
		int pid = pid_of(entry->d_name);

		if (!pid)
			continue;
		if (count == size) {
			int *grown = realloc(*pids, 2 * size * sizeof(*grown));

			if (!grown) {
				closedir(dir);
				return -ENOMEM;
			}
			*pids = grown;
			size *= 2;
		}
		(*pids)[count++] = pid;
	}
	closedir(dir);
	qsort(*pids, count, sizeof(**pids), cmp_int);
	return (long)count;
}

static uint64_t *make_bitmap(const uint64_t *pfn, size_t n, uint64_t max)
{
	uint64_t *bitmap;
	size_t i;

	if (max >= RT_BITMAP_LIMIT)
		return NULL;
	bitmap = calloc(max / 64 + 1, sizeof(*bitmap));
	if (bitmap)
		for (i = 0; i < n; i++)
			bitmap[pfn[i] >> 6] |= 1ULL << (pfn[i] & 63);
	return bitmap;
}

/*
 * Find an owner (pid, virtual address) for each of @n PFNs. On return
 * @sorted holds the distinct PFNs in order and @pid / @vaddr their first
 * owner (pid 0: none found). Returns the count of distinct PFNs, or -errno.
 */
long rt_translate(const struct rt_config *cfg, const uint64_t *pfns, size_t n,
		  uint64_t *sorted, int32_t *pid, uint64_t *vaddr, struct rt_stats *stats)
{
	struct wanted w = { .pfn = sorted, .pid = pid, .vaddr = vaddr };
	struct buffers buf = { 0 };
	int *pids = NULL;
	long count, i, err = 0;

	memset(stats, 0, sizeof(*stats));
	memcpy(sorted, pfns, n * sizeof(*pfns));
	w.n = w.left = sort_distinct(sorted, n);
	memset(pid, 0, w.n * sizeof(*pid));
	memset(vaddr, 0, w.n * sizeof(*vaddr));
	if (!w.n)
		return 0;
	w.max = sorted[w.n - 1];
	w.bitmap = make_bitmap(sorted, w.n, w.max);
	buf.entries = malloc(cfg->chunk_entries * 8);
	count = list_pids(cfg, &pids);
	if (count < 0 || !buf.entries) {
		err = count < 0 ? count : -ENOMEM;
		goto out;
	}
	for (i = 0; i < count && w.left; i++) {
		err = scan_pid(cfg, &w, pids[i], &buf, stats);
		if (err)
			break;
	}
out:
	free(pids);
	free(buf.text);
	free(buf.runs);
	free(buf.entries);
	free(w.bitmap);
	return err ? err : (long)w.n;
}

struct owned {
	int32_t pid;
	uint32_t index;
};

static int cmp_owned(const void *a, const void *b)
{
	const struct owned *x = a, *y = b;

	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * move_pages(@pid[i], ..., @vaddr[i] -> @node) grouped by owner, one call per
 * owner. @status[i] gets the entry's status (-ENOENT where pid[i] is 0, the
 * call's -errno where the whole call failed). Returns the calls made, or -errno.
 */
long rt_move(long nr_move_pages, size_t n, const int32_t *pid, const uint64_t *vaddr,
	     int node, int flags, int32_t *status, struct rt_stats *stats)
{
	struct owned *order = malloc((n ? n : 1) * sizeof(*order));
	void **pages = malloc((n ? n : 1) * sizeof(*pages));
	int *nodes = malloc((n ? n : 1) * sizeof(*nodes));
	int *got = malloc((n ? n : 1) * sizeof(*got));
	size_t i, owned = 0, start;
	long calls = 0;

	if (!order || !pages || !nodes || !got) {
		calls = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		status[i] = -ENOENT;
		if (pid[i])
			order[owned++] = (struct owned){ pid[i], (uint32_t)i };
	}
	qsort(order, owned, sizeof(*order), cmp_owned);
	for (start = 0; start < owned;) {
		size_t stop = start, k;
		long ret;

		while (stop < owned && order[stop].pid == order[start].pid)
			stop++;
		for (k = start; k < stop; k++) {
			pages[k - start] = (void *)(uintptr_t)vaddr[order[k].index];
			nodes[k - start] = node;
		}
		ret = syscall(nr_move_pages, (long)order[start].pid, (unsigned long)(stop - start),
			      pages, nodes, got, flags);
		calls++;
		if (ret < 0)
			stats->failed_calls++;
		for (k = start; k < stop; k++)
			status[order[k].index] = ret < 0 ? -errno : got[k - start];
		start = stop;
	}
out:
	free(order);
	free(pages);
	free(nodes);
	free(got);
	return calls;
}

static int own_phys_addr(const struct rt_config *cfg, int pagemap, uint64_t vaddr, uint64_t *addr)
{
	uint64_t entry;

	if (pread(pagemap, &entry, 8, (off_t)(vaddr / cfg->page_size * 8)) != 8)
		return -1;
	if ((entry & (cfg->present_bit | cfg->swapped_bit)) != cfg->present_bit)
		return -1;
	*addr = (entry & cfg->pfn_mask) * cfg->page_size;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/*
 * @reps calls of @probe, each timed alone into @ns. The set-up of each call
 * (choosing the node, reading the page's frame for move_phys_pages) is not
 * timed. *@unexpected counts calls that failed or left the page elsewhere
 * than asked. Returns 0, or -errno when the probe cannot run at all.
 */
long rt_time_probe(const struct rt_config *cfg, const struct rt_probe *probe, long reps,
		   uint64_t *ns, long *unexpected)
{
	int pagemap = -1;
	long i;

	*unexpected = 0;
	if (probe->phys) {
		pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (pagemap < 0)
			return -errno;
	}
	for (i = 0; i < reps; i++) {
		uint64_t address = probe->vaddr, start;
		int node = (i % 2 == 0) ? probe->node_b : probe->node_a;
		int status = -1;
		long ret;

		if (probe->phys && own_phys_addr(cfg, pagemap, probe->vaddr, &address)) {
			close(pagemap);
			return -EFAULT;
		}
		start = now_ns();
		if (probe->phys)
			ret = syscall(probe->nr, 1UL, &address, probe->query ? NULL : &node,
				      &status, probe->flags);
		else
			ret = syscall(probe->nr, 0L, 1UL, &address, probe->query ? NULL : &node,
				      &status, probe->flags);
		ns[i] = now_ns() - start;
		if (ret != 0 || status != (probe->query ? probe->node_a : node))
			(*unexpected)++;
	}
	if (pagemap >= 0)
		close(pagemap);
	return 0;
}
