// The health probe of the `healthcheck` input: chiseled images have no shell and no curl, so
// HEALTHCHECK runs a tiny static C program of our own. The source is kept whole here, like the
// publish script: the Dockerfile carries it as a here-document, and the tests compile and run
// it on the host with the same flags the Dockerfile uses.
import type { Arch } from '../dotnet/platforms.js'
import { GNU_TRIPLE } from '../dotnet/platforms.js'

/** Where the probe is in the final image: outside /app, so the app's folder stays the app's. */
export const HEALTHCHECK_BIN = '/usr/local/bin/aot-healthcheck'

/** The healthcheck stage's folder: the source, and one built probe per arch under it. */
export const HEALTHCHECK_DIR = '/probe'
export const HEALTHCHECK_SOURCE_NAME = 'aot-healthcheck.c'

/**
 * Docker's HEALTHCHECK options. A check every second during the start period makes the
 * container healthy about a second after the app answers, and the first success ends the
 * period, so a long one costs a healthy app nothing; failures inside it do not count, so it
 * covers a slow start (an emulated platform, a loaded host: 7 to 9 s seen under QEMU). Then
 * one check every 10 s. The timeout leaves the probe time to report its own (TIMEOUT_SECONDS
 * in the source: 3 s for a connect, a send or a read) before Docker kills it.
 */
export const HEALTHCHECK_OPTIONS = ['--interval=10s', '--timeout=5s', '--start-period=30s', '--start-interval=1s', '--retries=3'] as const

/**
 * clang flags for a freestanding static executable of a few kB: no libc, no start files, no
 * stack protector (it needs libc), no unwind tables, no PIE (static), unused code dropped, one
 * read-only executable segment (no page padding between segments), symbols stripped.
 */
export const PROBE_CFLAGS = [
  '-Os',
  '-static',
  '-nostdlib',
  '-ffreestanding',
  '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables',
  '-fno-unwind-tables',
  '-fno-pie',
  '-ffunction-sections',
  '-fdata-sections',
  '-Wl,--gc-sections',
  '-Wl,--build-id=none',
  '-Wl,-z,noseparate-code',
  '-Wl,-z,noexecstack',
  '-s'
] as const

/**
 * The compile of one arch's probe, run in HEALTHCHECK_DIR: clang cross-compiles with --target
 * and links with the target's GNU ld, which the toolchain stage's cross packages bring for a
 * foreign arch (and the SDK image has for its own).
 */
export function probeCompile(arch: Arch): string[] {
  return ['clang', `--target=${GNU_TRIPLE[arch]}`, ...PROBE_CFLAGS, '-o', `${arch}/aot-healthcheck`, HEALTHCHECK_SOURCE_NAME]
}

/**
 * The probe. Usage: aot-healthcheck /PATH [PORT]. Written without `${` and backticks: it lives
 * in a JavaScript template string.
 */
export const HEALTHCHECK_SOURCE = String.raw`/*
 * aot-healthcheck: the HEALTHCHECK of a chiseled image, which has no shell and no curl.
 * Usage: aot-healthcheck /PATH [PORT]
 * Sends "GET /PATH HTTP/1.0" to 127.0.0.1:PORT and exits 0 when the status is 2xx or 3xx;
 * 1 on any other status, a connection failure, or TIMEOUT_SECONDS without progress. Docker
 * reserves exit code 2, so a usage error exits 1 too. PORT defaults to the first port in
 * ASPNETCORE_HTTP_PORTS (the runtime-deps images set 8080), else 8080.
 * Freestanding: no libc, raw Linux syscalls, static, a few kB (built with -nostdlib).
 */
#if !defined(__x86_64__) && !defined(__aarch64__)
#error "aot-healthcheck is written for x86_64 and aarch64 Linux"
#endif
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "aot-healthcheck writes its socket address for a little-endian CPU"
#endif

#define TIMEOUT_SECONDS 3
#define DEFAULT_PORT 8080
#define MAX_PATH 1024

/* The same numbers on both architectures (Linux uapi headers). */
#define AF_INET 2
#define SOCK_STREAM 1
#define SOCK_CLOEXEC 02000000
#define SOL_SOCKET 1
#define SO_RCVTIMEO 20
#define SO_SNDTIMEO 21
#define EAGAIN 11
#define ECONNREFUSED 111
#define EINPROGRESS 115

#if defined(__x86_64__)
#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_socket 41
#define SYS_connect 42
#define SYS_setsockopt 54
#define SYS_exit_group 231

/* A syscall: the result, or -errno. */
static long sys5(long n, long a, long b, long c, long d, long e)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
}

/* The kernel starts a process with argc, argv[], 0, envp[], 0 at the stack pointer. */
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call probe_main\n"
        "  hlt\n");
#else
#define SYS_read 63
#define SYS_write 64
#define SYS_close 57
#define SYS_socket 198
#define SYS_connect 203
#define SYS_setsockopt 208
#define SYS_exit_group 94

static long sys5(long n, long a, long b, long c, long d, long e)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4)
                     : "memory");
    return x0;
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  bl probe_main\n"
        "  brk #0\n");
#endif

/* clang and gcc may call these even in a freestanding program (to copy or clear memory). */
void *memset(void *to, int c, unsigned long n);
void *memcpy(void *to, const void *from, unsigned long n);

void *memset(void *to, int c, unsigned long n)
{
    unsigned char *p = to;
    while (n-- != 0) *p++ = (unsigned char)c;
    return to;
}

void *memcpy(void *to, const void *from, unsigned long n)
{
    unsigned char *p = to;
    const unsigned char *q = from;
    while (n-- != 0) *p++ = *q++;
    return to;
}

/* struct timeval: 64-bit seconds and microseconds on both architectures. */
struct timeout {
    long seconds;
    long microseconds;
};

__attribute__((noreturn)) static void quit(int code)
{
    for (;;) sys5(SYS_exit_group, code, 0, 0, 0, 0);
}

static unsigned long length(const char *s)
{
    unsigned long n = 0;
    while (s[n] != '\0') n++;
    return n;
}

static void say(int fd, const char *s)
{
    sys5(SYS_write, fd, (long)s, (long)length(s), 0, 0);
}

/* v in decimal, written backwards from the end of a buffer of 24; returns its start. */
static char *decimal(char *end, unsigned long v)
{
    *--end = '\0';
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return end;
}

/* "aot-healthcheck: WHAT[ 127.0.0.1:PORT][: REASON]" on stderr (Docker keeps it in the
   container's health log), then exit 1: unhealthy. */
__attribute__((noreturn)) static void fail(const char *what, int port, long err)
{
    char num[24];
    say(2, "aot-healthcheck: ");
    say(2, what);
    if (port != 0) {
        say(2, " 127.0.0.1:");
        say(2, decimal(num + sizeof num, (unsigned long)port));
    }
    if (err == -ECONNREFUSED) {
        say(2, ": connection refused");
    } else if (err == -EAGAIN || err == -EINPROGRESS) {
        say(2, ": timed out");
    } else if (err < 0) {
        say(2, ": errno ");
        say(2, decimal(num + sizeof num, (unsigned long)-err));
    }
    say(2, "\n");
    quit(1);
}

/* A decimal port from 1 to 65535 up to the end or a ';' (a list's first); 0 if there is none. */
static int port_of(const char *s)
{
    long port = 0;
    if (*s < '0' || *s > '9') return 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        port = port * 10 + (*s - '0');
        if (port > 65535) return 0;
    }
    return (*s == '\0' || *s == ';') ? (int)port : 0;
}

static int starts_with(const char *s, const char *prefix)
{
    while (*prefix != '\0')
        if (*s++ != *prefix++) return 0;
    return 1;
}

static char *append(char *at, const char *end, const char *s)
{
    while (*s != '\0' && at < end) *at++ = *s++;
    return at;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

void probe_main(long *sp) __attribute__((used, noreturn));

void probe_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    const char *path = argc > 1 ? argv[1] : "";
    int port = DEFAULT_PORT;
    char request[MAX_PATH + 64];
    char *end = request + sizeof request;
    char *at;
    unsigned char address[16];
    struct timeout timeout;
    char reply[128];
    long got = 0, n, fd, i;
    int status;

    if (argc < 2 || argc > 3 || path[0] != '/' || length(path) > MAX_PATH) fail("usage: aot-healthcheck /PATH [PORT]", 0, 0);
    for (i = 0; path[i] != '\0'; i++)
        if (path[i] <= ' ' || path[i] > '~') fail("the path must be printable ASCII without spaces", 0, 0);
    if (argc == 3) {
        port = port_of(argv[2]);
        if (port == 0) fail("the port must be a number from 1 to 65535", 0, 0);
    } else {
        for (; *envp != 0; envp++)
            if (starts_with(*envp, "ASPNETCORE_HTTP_PORTS=") && port_of(*envp + 22) != 0) port = port_of(*envp + 22);
    }

    /* HTTP/1.0 without a Host header: ASP.NET Core's host filtering lets an empty host
       through whatever AllowedHosts says, and Kestrel requires Host only of HTTP/1.1. */
    at = append(request, end, "GET ");
    at = append(at, end, path);
    at = append(at, end, " HTTP/1.0\r\nUser-Agent: aot-healthcheck\r\n\r\n");

    /* struct sockaddr_in: family, port (big-endian), 127.0.0.1, zero padding. */
    for (i = 0; i < 16; i++) address[i] = 0;
    address[0] = AF_INET;
    address[2] = (unsigned char)(port >> 8);
    address[3] = (unsigned char)(port & 0xff);
    address[4] = 127;
    address[7] = 1;

    fd = sys5(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, 0, 0);
    if (fd < 0) fail("socket", 0, fd);
    /* Linux bounds a blocking connect by the send timeout, and each read by the receive one. */
    timeout.seconds = TIMEOUT_SECONDS;
    timeout.microseconds = 0;
    sys5(SYS_setsockopt, fd, SOL_SOCKET, SO_SNDTIMEO, (long)&timeout, sizeof timeout);
    sys5(SYS_setsockopt, fd, SOL_SOCKET, SO_RCVTIMEO, (long)&timeout, sizeof timeout);
    n = sys5(SYS_connect, fd, (long)address, sizeof address, 0, 0);
    if (n < 0) fail("connect to", port, n);
    for (i = 0; request + i < at; i += n) {
        n = sys5(SYS_write, fd, (long)(request + i), (long)(at - request - i), 0, 0);
        if (n <= 0) fail("send to", port, n);
    }
    /* Only the status line matters: "HTTP/1.x NNN reason". */
    while (got < (long)sizeof reply - 1) {
        n = sys5(SYS_read, fd, (long)(reply + got), (long)sizeof reply - 1 - got, 0, 0);
        if (n < 0) fail("no answer from", port, n);
        if (n == 0) break;
        got += n;
        for (i = 0; i < got && reply[i] != '\n'; i++) {}
        if (i < got) break;
    }
    sys5(SYS_close, fd, 0, 0, 0, 0);
    for (i = 0; i < got && reply[i] != '\r' && reply[i] != '\n'; i++) {}
    reply[i] = '\0';
    if (i < 12 || !starts_with(reply, "HTTP/1.") || reply[8] != ' ' || !is_digit(reply[9]) || !is_digit(reply[10]) || !is_digit(reply[11]))
        fail("no HTTP status line from", port, 0);
    status = (reply[9] - '0') * 100 + (reply[10] - '0') * 10 + (reply[11] - '0');
    /* The status line on stdout: Docker shows it in the container's health log. */
    say(1, reply);
    say(1, "\n");
    quit(status >= 200 && status < 400 ? 0 : 1);
}
`

/** The longest path the `healthcheck` input takes (the probe itself takes up to 1024 bytes). */
export const MAX_HEALTHCHECK_PATH = 256

/** What is wrong with a health-check path, or undefined when it is one the probe can send. */
export function healthcheckPathProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return 'does not start with /'
  if (p.length > MAX_HEALTHCHECK_PATH) return `is ${p.length} characters long`
  // The path goes on the request line as it is: a space or a control character would end it
  // or start a header.
  const bad = /[^!-~]/u.exec(p)?.[0]
  if (bad !== undefined) return bad === ' ' ? 'contains a space' : `contains the character U+${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
  return undefined
}
