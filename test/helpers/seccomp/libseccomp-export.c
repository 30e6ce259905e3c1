/* Test oracle: compiles a seccomp profile with libseccomp (what Kata's agent uses) and writes the
 * BPF program it generates (seccomp_export_bpf) to stdout. The profile comes on stdin, one item
 * per line, already reduced to what libseccomp takes:
 *   default <action u32>
 *   arch <x86_64|x32|x86>                               (none: the native arch only)
 *   rule <action u32> <syscall name> <nargs> {<index> <op 1..7> <datum_a> <datum_b>}...
 * Actions are raw SECCOMP_RET_* values (libseccomp's SCMP_ACT_* have the same values). */
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  char kind[16], name[128];
  /* --known: echo the names (one per line on stdin) this libseccomp knows on x86_64, x32 or x86
   * (a name missing from the native table resolves to a negative pseudo number). */
  if (argc > 1 && !strcmp(argv[1], "--known")) {
    while (scanf("%127s", name) == 1)
      if (seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name) >= 0 || seccomp_syscall_resolve_name_arch(SCMP_ARCH_X32, name) >= 0 ||
          seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, name) >= 0)
        printf("%s\n", name);
    return 0;
  }
  unsigned int def = 0, action;
  int archs = 0, x64 = 0, x32 = 0, x86 = 0;
  scmp_filter_ctx ctx = NULL;
  /* First pass: default and arches (they must precede the rules in libseccomp). */
  char *lines[16384];
  int n = 0;
  char buf[4096];
  while (n < 16384 && fgets(buf, sizeof buf, stdin)) lines[n++] = strdup(buf);
  for (int i = 0; i < n; i++) {
    if (sscanf(lines[i], "%15s", kind) != 1) continue;
    if (!strcmp(kind, "default")) sscanf(lines[i], "%*s %u", &def);
    if (!strcmp(kind, "arch")) {
      sscanf(lines[i], "%*s %127s", name);
      archs++;
      if (!strcmp(name, "x86_64")) x64 = 1;
      if (!strcmp(name, "x32")) x32 = 1;
      if (!strcmp(name, "x86")) x86 = 1;
    }
  }
  ctx = seccomp_init(def);
  if (!ctx) { fprintf(stderr, "seccomp_init failed\n"); return 2; }
  if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0) return 3;
  if (archs && x32 && seccomp_arch_add(ctx, SCMP_ARCH_X32) < 0) { fprintf(stderr, "arch x32\n"); return 4; }
  if (archs && x86 && seccomp_arch_add(ctx, SCMP_ARCH_X86) < 0) { fprintf(stderr, "arch x86\n"); return 4; }
  if (archs && !x64 && seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE) < 0) { fprintf(stderr, "arch remove\n"); return 4; }
  for (int i = 0; i < n; i++) {
    int nargs, used;
    struct scmp_arg_cmp cmp[6];
    if (sscanf(lines[i], "%15s", kind) != 1 || strcmp(kind, "rule")) continue;
    if (sscanf(lines[i], "%*s %u %127s %d%n", &action, name, &nargs, &used) != 3 || nargs < 0 || nargs > 6) return 5;
    char *p = lines[i] + used;
    for (int j = 0; j < nargs; j++) {
      unsigned int idx, op;
      unsigned long long a, b;
      int k;
      if (sscanf(p, "%u %u %llu %llu%n", &idx, &op, &a, &b, &k) != 4) return 6;
      p += k;
      cmp[j].arg = idx; cmp[j].op = (enum scmp_compare)op; cmp[j].datum_a = a; cmp[j].datum_b = b;
    }
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;
    int r = seccomp_rule_add_array(ctx, action, nr, (unsigned int)nargs, cmp);
    if (r < 0) { fprintf(stderr, "rule %s: %s\n", name, strerror(-r)); return 7; }
  }
  if (seccomp_export_bpf(ctx, 1) < 0) { fprintf(stderr, "export failed\n"); return 8; }
  seccomp_release(ctx);
  return 0;
}
