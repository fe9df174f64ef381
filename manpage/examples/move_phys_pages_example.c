/* Move one page of this process to NODE by its physical address. */
#include <err.h>
#include <fcntl.h>
#include <limits.h>
#include <numaif.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PM_PRESENT   (1ULL << 63)
#define PM_PFN_MASK  ((1ULL << 55) - 1)

static uint64_t
physical_address(const void *addr)
{
    int       fd;
    long      page_size = sysconf(_SC_PAGESIZE);
    off_t     offset;
    uint64_t  entry;

    fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd == -1)
        err(EXIT_FAILURE, "open");
    offset = (uintptr_t) addr / page_size * sizeof(entry);
    if (pread(fd, &entry, sizeof(entry), offset) != sizeof(entry))
        err(EXIT_FAILURE, "pread");
    close(fd);

    /* Without CAP_SYS_ADMIN, pagemap shows a PFN of 0. */
    if (!(entry & PM_PRESENT) || (entry & PM_PFN_MASK) == 0)
        errx(EXIT_FAILURE, "no page frame number for %p", addr);
    return (entry & PM_PFN_MASK) * page_size;
}

static void
report(const char *what, int status)
{
    if (status < 0)
        printf("%s: %s\n", what, strerror(-status));
    else
        printf("%s: node %d\n", what, status);
}

int
main(int argc, char *argv[])
{
    int         node, status;
    long        ret, page_size = sysconf(_SC_PAGESIZE);
    char        *buf;
    const void  *pages[1];

    if (argc != 2) {
        fprintf(stderr, "Usage: %s node\n", argv[0]);
        exit(EXIT_FAILURE);
    }
    node = atoi(argv[1]);

    buf = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        err(EXIT_FAILURE, "mmap");
    buf[0] = 1;                 /* Allocate the page */

    /* A 32-bit caller can name only addresses below 4 GiB. */
    pages[0] = (const void *) (uintptr_t) physical_address(buf);

    ret = syscall(SYS_move_phys_pages, 1UL, pages, NULL, &status, 0);
    if (ret == -1)
        err(EXIT_FAILURE, "move_phys_pages (query)");
    report("before", status);

    status = INT_MIN;           /* No result takes this value */
    ret = syscall(SYS_move_phys_pages, 1UL, pages, &node, &status,
                  MPOL_MF_MOVE);
    if (ret == -1)
        err(EXIT_FAILURE, "move_phys_pages (move)");
    if (ret > 0 || status == INT_MIN)
        printf("after: not migrated, try again later\n");
    else
        report("after", status);

    /* The old address is stale once the page has moved. */
    printf("physical address now %#jx\n",
           (uintmax_t) physical_address(buf));
    exit(EXIT_SUCCESS);
}
