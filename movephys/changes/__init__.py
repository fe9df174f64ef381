"""What changes the machine or a process for a case, always undone on exit.

Children with other credentials (child, credentials, userns), cgroups we
create (cpuset), memory taken offline (offline), NUMA balancing turned off
(numa_balancing). The readers of machine facts are in movephys.probes and
change nothing.
"""
