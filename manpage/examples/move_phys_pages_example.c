/* Move a page of this process to another node, by physical address. */
#include <asm/unistd.h>      /* __NR_move_phys_pages, from the kernel */
#include <err.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/mempolicy.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PM_PRESENT   (UINT64_C(1) << 63)
#define PM_PFN_MASK  ((UINT64_C(1) << 55) - 1)

/* The physical address of the page at addr, from /proc/self/pagemap. */
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

    /* Without CAP_SYS_ADMIN, pagemap shows a frame number of 0. */
    if (!(entry & PM_PRESENT) || (entry & PM_PFN_MASK) == 0)
        errx(EXIT_FAILURE, "no page frame number for %p", addr);
    return (entry & PM_PFN_MASK) * page_size;
}

/* The node of the page at addr, as get_mempolicy(2) sees it. */
static int
node_of(void *addr)
{
    int  node;

    if (syscall(SYS_get_mempolicy, &node, NULL, 0UL, addr,
                MPOL_F_NODE | MPOL_F_ADDR) == -1)
        err(EXIT_FAILURE, "get_mempolicy");
    return node;
}

int
main(int argc, char *argv[])
{
    int         node, status;
    char        *buf;
    long        ret, page_size = sysconf(_SC_PAGESIZE);
    uint64_t    paddr;
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

    /* Elements of pages are pointers: refuse what one cannot hold. */
    paddr = physical_address(buf);
    if ((uintptr_t) paddr != paddr)
        errx(EXIT_FAILURE, "physical address %#" PRIx64
             " does not fit in a pointer", paddr);
    pages[0] = (const void *) (uintptr_t) paddr;
    printf("before: node %d, physical address %#" PRIx64 "\n",
           node_of(buf), paddr);

    status = INT_MIN;           /* No result takes this value */
    ret = syscall(__NR_move_phys_pages, 1UL, pages, &node, &status,
                  MPOL_MF_MOVE);
    if (ret == -1)
        err(EXIT_FAILURE, "move_phys_pages");
    if (ret > 0 || status == INT_MIN)
        errx(EXIT_FAILURE, "page not migrated; try again");
    if (status < 0)
        errx(EXIT_FAILURE, "page not moved: %s", strerror(-status));

    /* A page that moved has a new physical address. */
    printf("after:  node %d, physical address %#" PRIx64 "\n",
           node_of(buf), physical_address(buf));
    exit(EXIT_SUCCESS);
}
