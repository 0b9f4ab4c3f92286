#!/usr/bin/env python3
"""Writes a synthetic ftrace trace of N fork + exec + exit loops on CPU 1 (CPU 0 idle), for
measuring how lazymm replay's memory grows with the number of processes in a trace:

    python3 traces/gen-fork-exec.py 100000 > /tmp/g100k.ftrace
    /usr/bin/time -f '%M KB' lazymm replay /tmp/g100k.ftrace --scheme refcount

Each loop: `sh` (pid 100) forks a child, switches to it, the child execs /bin/true, exits, and
its final switch goes to idle; idle switches back to `sh`. Pids are reused after 30,000.
Lines are in the kernel's ftrace text format with record-tgid on."""
import sys

n = int(sys.argv[1])
t = 1000.0
out = sys.stdout


def line(comm, pid, tgid, cpu, body):
    global t
    t += 0.000010
    out.write("%16s-%-7d (%7d) [%03d] d..2. %.6f: %s\n" % (comm, pid, tgid, cpu, t, body))


out.write("# tracer: nop\n")
for i in range(n):
    p = 1000 + (i % 30000)
    line("sh", 100, 100, 1, "sched_process_fork: comm=sh pid=100 child_comm=sh child_pid=%d" % p)
    line("sh", 100, 100, 1, "sched_switch: prev_comm=sh prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=sh next_pid=%d next_prio=120" % p)
    line("sh", p, p, 1, "sched_process_exec: filename=/bin/true pid=%d old_pid=%d" % (p, p))
    line("true", p, p, 1, "sched_process_exit: comm=true pid=%d prio=120 group_dead=true" % p)
    line("true", p, p, 1, "sched_switch: prev_comm=true prev_pid=%d prev_prio=120 prev_state=X ==> next_comm=swapper/1 next_pid=0 next_prio=120" % p)
    line("<idle>", 0, 0, 1, "sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=sh next_pid=100 next_prio=120")
    line("sh", 100, 100, 1, "sched_process_free: comm=true pid=%d prio=120" % p)
