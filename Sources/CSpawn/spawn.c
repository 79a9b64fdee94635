// Process spawning for job runs (and two stdio helpers for the command line, at the end). This is C because everything between fork() and execve() in a multithreaded
// process must be async-signal-safe: no allocation, no locks, only system calls. Swift cannot promise that.
#define _GNU_SOURCE
#include "xexp_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int watchdog_read = -1;
static int watchdog_write = -1;
static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;

static void make_watchdog(void) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) == 0) {
        watchdog_read = fds[0];
        watchdog_write = fds[1];
    }
}

int xexp_watchdog_fd(void) {
    pthread_once(&watchdog_once, make_watchdog);
    return watchdog_read;
}

static void write_str(int fd, const char *s) {
    ssize_t unused = write(fd, s, strlen(s));
    (void)unused;
}

static void close_from(int lowest) {
#ifdef SYS_close_range
    // One system call instead of one per possible descriptor (the fd limit can be tens of thousands).
    if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0) return;
#endif
    // Kernels before 5.9: a bounded loop.
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = lowest; fd < max; fd++) close(fd);
}

static int redirect(const char *path, int target, int flags) {
    int fd = open(path, flags, 0644);
    if (fd < 0) return -1;
    if (fd != target) {
        if (dup2(fd, target) < 0) return -1;
        close(fd);
    }
    return 0;
}

// Runs in the shepherd (the forked child); never returns.
static void shepherd(const char *path, char *const argv[], char *const envp[], const char *cwd,
                     const char *stdout_path, const char *stderr_path, int watch_fd) {
    setpgid(0, 0);
    if (redirect("/dev/null", 0, O_RDONLY) < 0 ||
        redirect(stdout_path, 1, O_WRONLY | O_CREAT | O_APPEND) < 0 ||
        redirect(stderr_path, 2, O_WRONLY | O_CREAT | O_APPEND) < 0) {
        _exit(126);
    }
    if (watch_fd != 3) {
        if (dup2(watch_fd, 3) < 0) _exit(126);
    } else {
        fcntl(3, F_SETFD, 0);
    }
    close_from(4);

    if (chdir(cwd) != 0) {
        write_str(2, "xexp: cannot change to the job's working directory ");
        write_str(2, cwd);
        write_str(2, ": ");
        write_str(2, strerror(errno));
        write_str(2, "\n");
        _exit(126);
    }

    // The shepherd takes SIGCHLD and termination signals through a signalfd; they stay blocked so a group-wide
    // SIGTERM from the scheduler reaches the command while the shepherd lives on to report its status.
    sigset_t handled;
    sigemptyset(&handled);
    sigaddset(&handled, SIGCHLD);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGHUP);
    sigaddset(&handled, SIGQUIT);
    int sfd = signalfd(-1, &handled, SFD_CLOEXEC);
    if (sfd < 0) _exit(126);

    pid_t child = fork();
    if (child < 0) _exit(126);
    if (child == 0) {
        close(3);
        close(sfd);
        for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        write_str(2, "xexp: cannot execute ");
        write_str(2, path);
        write_str(2, ": ");
        write_str(2, strerror(errno));
        write_str(2, "\n");
        _exit(127);
    }

    // All signals were blocked by the parent before fork; keep only ours blocked so others behave normally.
    sigprocmask(SIG_SETMASK, &handled, NULL);

    struct pollfd fds[2] = {{.fd = 3, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    for (;;) {
        int n = poll(fds, 2, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            _exit(126);
        }
        if (fds[0].revents) {
            // The xexp process is gone (its end of the pipe closed): take the whole job down with it.
            kill(0, SIGKILL);
            _exit(137);
        }
        if (fds[1].revents) {
            struct signalfd_siginfo info;
            ssize_t unused = read(sfd, &info, sizeof info);
            (void)unused;
            int status;
            pid_t r = waitpid(child, &status, WNOHANG);
            if (r != child) continue;
            // Leftover background processes of the job are cleaned up; SIGTERM is blocked here, so not us.
            kill(0, SIGTERM);
            if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
            if (WIFSIGNALED(status)) {
                int sig = WTERMSIG(status);
                signal(sig, SIG_DFL);
                sigset_t only;
                sigemptyset(&only);
                sigaddset(&only, sig);
                // Re-raise the command's fatal signal so the parent's waitpid sees the same status.
                sigprocmask(SIG_UNBLOCK, &only, NULL);
                kill(getpid(), sig);
                _exit(128 + sig);
            }
            _exit(126);
        }
    }
}

int xexp_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               const char *stdout_path, const char *stderr_path, pid_t *out_pid) {
    int watch_fd = xexp_watchdog_fd();
    if (watch_fd < 0) return errno ? errno : EMFILE;

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        shepherd(path, argv, envp, cwd, stdout_path, stderr_path, watch_fd);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) return saved;
    // Also set the group from the parent side, so a kill(-pid) sent right after spawn cannot miss it.
    setpgid(pid, pid);
    *out_pid = pid;
    return 0;
}

void xexp_stdout_write(const char *text) { fputs(text, stdout); }

int xexp_stdout_failed(void) { return fflush(stdout) != 0 || ferror(stdout) != 0; }

int xexp_cpu_runs_haswell_code(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 1;
#endif
}
