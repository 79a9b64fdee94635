#ifndef XEXP_SPAWN_H
#define XEXP_SPAWN_H

#include <sys/types.h>

/// Creates the process-wide watchdog pipe and returns its read end (or -1 with errno set).
/// The write end is kept open, never written, until this process dies: every job's shepherd polls the read end
/// and kills its job's process group when it hangs up. That is how jobs never outlive an xexp killed with SIGKILL,
/// independent of which thread spawned them (PR_SET_PDEATHSIG fires when the *thread* exits, which Dispatch does).
int xexp_watchdog_fd(void);

/// Starts `path` with `argv`/`envp` in `cwd`, stdin from /dev/null, stdout and stderr appended to the given files.
///
/// The returned pid is a shepherd process that leads a new process group, runs the command as its child and exits
/// with the command's exact status (same exit code, or killed by the same signal), so waitpid on it tells the
/// truth. Signalling the group (kill(-pid, sig)) reaches the command and everything it started.
/// Returns 0 and stores the pid, or returns an errno value if the fork itself failed.
int xexp_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
               const char *stdout_path, const char *stderr_path, pid_t *out_pid);

/// Writes `text` to stdout through stdio (as Swift's `print` does).
void xexp_stdout_write(const char *text);

/// Flushes stdout and returns nonzero if any write to it failed (a full disk, /dev/full): stdio only sets the
/// stream's error flag, which Swift cannot read without touching the C global `stdout`.
int xexp_stdout_failed(void);

/// Nonzero if this CPU runs code built for Haswell (AVX2 and FMA), or if it is not an x86-64 CPU at all.
int xexp_cpu_runs_haswell_code(void);

#endif
