/* Floors of the exec and lifecycle rows on this machine, from a small C process with no RPC:
 *   spawn-true N PROGRAM       posix_spawn + waitpid (ExecProcess+WaitProcess's floor)
 *   spawn-true N PROGRAM ns    clone into new pid, network, ipc, uts and mount namespaces, exec,
 *                              waitpid (a container lifecycle's floor: no mounts, no cgroups)
 * Prints the JSON the bench reads: the p50 of N runs. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static char *child_args[2];
static char child_stack[64 * 1024] __attribute__((aligned(16)));

static int child(void *unused) {
	(void)unused;
	execve(child_args[0], child_args, environ);
	_exit(127);
}

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
	if (argc != 3 && argc != 4) { fprintf(stderr, "usage: spawn-true N PROGRAM [ns]\n"); return 2; }
	int ns = argc == 4;
	int n = atoi(argv[1]);
	if (n < 1) n = 1;
	double *us = calloc((size_t)n, sizeof *us);
	char *args[] = { argv[2], NULL };
	child_args[0] = argv[2];
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		pid_t pid;
		int status;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (ns) {
			pid = clone(child, child_stack + sizeof child_stack,
				CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | SIGCHLD, NULL);
			if (pid < 0) { perror("clone"); return 1; }
		} else if (posix_spawn(&pid, argv[2], NULL, NULL, args, environ) != 0) {
			perror("posix_spawn");
			return 1;
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) { fprintf(stderr, "%s failed\n", argv[2]); return 1; }
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(us, (size_t)n, sizeof *us, cmp);
	printf("{\"n\":%d,\"p50_us\":%.3f}\n", n, us[n / 2]);
	return 0;
}
