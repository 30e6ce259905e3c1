/* The floor of ExecProcess+WaitProcess on this machine: posix_spawn + waitpid of a program from
 * a small C process, no container, no RPC. Prints the JSON the bench reads: the p50 of N runs.
 *   spawn-true N PROGRAM */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
	if (argc != 3) { fprintf(stderr, "usage: spawn-true N PROGRAM\n"); return 2; }
	int n = atoi(argv[1]);
	if (n < 1) n = 1;
	double *us = calloc((size_t)n, sizeof *us);
	char *args[] = { argv[2], NULL };
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		pid_t pid;
		int status;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (posix_spawn(&pid, argv[2], NULL, NULL, args, environ) != 0) { perror("posix_spawn"); return 1; }
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) { fprintf(stderr, "%s failed\n", argv[2]); return 1; }
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(us, (size_t)n, sizeof *us, cmp);
	printf("{\"n\":%d,\"p50_us\":%.3f}\n", n, us[n / 2]);
	return 0;
}
