/* A static i386 program for the seccomp tests (built with `cc -m32 -nostdlib -static`): writes
 * "i386 ok" with write(2) through int 0x80, then tries socketcall(SYS_SOCKET, {AF_UNIX, SOCK_STREAM, 0})
 * and prints "socketcall ok" or "socketcall denied", and exits 0 (3 when the first write failed). */
static int sys3(int nr, int a, int b, int c) {
	int r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

static int len(const char *s) {
	int n = 0;
	while (s[n]) n++;
	return n;
}

void _start(void) {
	static const char hello[] = "i386 ok\n";
	static const char yes[] = "socketcall ok\n", no[] = "socketcall denied\n";
	static int args[3] = {1 /* AF_UNIX */, 1 /* SOCK_STREAM */, 0};
	if (sys3(4 /* write */, 1, (int)hello, len(hello)) != len(hello)) sys3(1 /* exit */, 3, 0, 0);
	int fd = sys3(102 /* socketcall */, 1 /* SYS_SOCKET */, (int)args, 0);
	const char *m = fd >= 0 ? yes : no;
	sys3(4, 1, (int)m, len(m));
	sys3(1, 0, 0, 0);
	for (;;) {}
}
