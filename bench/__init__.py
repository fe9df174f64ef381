"""What move_phys_pages saves over reverse translation, measured (issue 6).

``python -m bench run`` measures, on the running kernel, four ways a tiering
daemon could act on K physical pages held by P processes:

``phys``       (a) one move_phys_pages call with the K physical addresses;
``reverse``    (b) walk /proc/PID/pagemap of every process to find each
               PFN's owner and virtual address, then move_pages per owner;
``translate``  (c) the walk of (b) alone;
``copy``       the floor: copying K pages from the first node to the second.

Modules, one concern each: plan (what to sweep), workload (the processes
holding the pages), translate (the pagemap walk), methods (the four ways),
measure (one mover in its own process: wall, CPU, peak RSS), sweep (runs the
plan and verifies every page), stats and results (medians, CSV), machine
(where the figures came from), svg and report (plots and tables),
suite_time (the conformance suite's own run time), vm (the whole job in the
reference kernel's VM), cli.
"""
