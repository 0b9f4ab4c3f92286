/* Cross-CPU pipe ping-pong: `pingpong t|p PAIRS ROUNDS`. Pair i's two sides are pinned to
 * CPUs 2i and 2i+1 (mod the CPU count), so every hand-off goes through idle on both sides
 * (a lazy switch to the idle task and back). t: the sides are threads of one process (one
 * mm, the case where R's mm_count line is shared by every CPU); p: processes (one mm each). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static int rounds, ncpu;
struct side { int rd, wr, cpu, first; };
static void pin(int cpu) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); sched_setaffinity(0, sizeof s, &s); }
static void *run(void *p) {
	struct side *s = p; char c = 0; pin(s->cpu);
	for (int i = 0; i < rounds; i++) {
		if (s->first && write(s->wr, &c, 1) != 1) exit(1);
		if (read(s->rd, &c, 1) != 1) exit(1);
		if (!s->first && write(s->wr, &c, 1) != 1) exit(1);
	}
	return NULL;
}
int main(int argc, char **argv) {
	if (argc != 4) { fprintf(stderr, "usage: pingpong t|p PAIRS ROUNDS\n"); return 2; }
	int threads = argv[1][0] == 't', pairs = atoi(argv[2]); rounds = atoi(argv[3]);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t *th = calloc(2 * pairs, sizeof *th);
	for (int i = 0; i < pairs; i++) {
		int ab[2], ba[2];
		if (pipe(ab) || pipe(ba)) return 1;
		struct side *a = malloc(sizeof *a), *b = malloc(sizeof *b);
		*a = (struct side){ ba[0], ab[1], (2 * i) % ncpu, 1 };
		*b = (struct side){ ab[0], ba[1], (2 * i + 1) % ncpu, 0 };
		if (threads) {
			pthread_create(&th[2 * i], NULL, run, a);
			pthread_create(&th[2 * i + 1], NULL, run, b);
		} else {
			if (fork() == 0) { run(a); _exit(0); }
			if (fork() == 0) { run(b); _exit(0); }
		}
	}
	if (threads) for (int i = 0; i < 2 * pairs; i++) pthread_join(th[i], NULL);
	else while (wait(NULL) > 0) ;
	return 0;
}
