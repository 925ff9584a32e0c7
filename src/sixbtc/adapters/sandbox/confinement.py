"""Locking sandbox processes down: the fork server once, after its imports, and each strategy
process again, right after it is forked and before it runs any strategy code.

Layers, each applied where the platform allows and reported by name so the parent can log what
holds. The server (:func:`confine_server`): descriptors closed, a private network namespace, an
unprivileged user, no new privileges, not traceable, Landlock (no file system access at all, no
TCP, no signals or abstract sockets outside the sandbox) and resource limits. A strategy process
(:func:`confine_strategy_process`) holds no descriptor but its two pipes, adds its own nested
Landlock domain, so that it cannot signal or trace the server it was forked from, limits of its
own (no new processes, CPU time and memory) and dies with the server. The environment is cleaned
by the parent when it starts the server.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
NOBODY = 65534

# Landlock (linux/landlock.h); the system call numbers are shared by every architecture.
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
_FS_RIGHTS_BY_ABI = {1: 13, 2: 14, 3: 15, 4: 15, 5: 16}  # number of access bits per ABI version
_NET_ALL = 0b11  # bind and connect TCP
_SCOPE_ALL = 0b11  # abstract unix sockets and signals
#: Descriptor limit of sandbox processes; every descriptor they hold is below it.
MAX_DESCRIPTORS = 16

_libc = ctypes.CDLL(None, use_errno=True)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


def _os_error(what: str) -> OSError:
    errno = ctypes.get_errno()
    return OSError(errno, f"{what}: {os.strerror(errno)}")


def close_other_descriptors(keep: set[int]) -> None:
    """Close every open descriptor except ``keep``."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            with contextlib.suppress(OSError):  # the listing's own descriptor, already closed
                os.close(fd)


def enter_network_namespace() -> None:
    """A fresh network namespace: only a loopback interface, down. Root does it directly; others
    through a new user namespace when the kernel allows unprivileged ones."""
    flags = CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWNET | CLONE_NEWUSER
    if _libc.unshare(flags) != 0:
        raise _os_error("unshare")


def drop_root() -> bool:
    """Become ``nobody`` (no groups, no capabilities) when running as root; False otherwise."""
    if os.geteuid() != 0:
        return False
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    return True


def close_descriptors_but(keep: set[int]) -> None:
    """Close every descriptor from 0 except ``keep``, without listing them (``/proc`` may be out of
    reach): up to the descriptor limit, above which none can have been opened since it was set."""
    top = max(MAX_DESCRIPTORS, *keep, 0) + 1
    with contextlib.suppress(ValueError, OSError):
        top = max(top, min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 1 << 20))
    low = 0
    for high in [*sorted(keep), top]:
        if low < high:  # os.closerange(n, n) would close everything from n (close_range(n, -1))
            os.closerange(low, high)
        low = high + 1


def die_with_parent(parent: int) -> None:
    """SIGKILL when ``parent`` dies; if it already has, exit now. ``parent`` must be this process's
    parent, and the thread that forked it must live as long as it does (the kernel sends the
    signal when that thread ends): the fork server's main thread. Call it after every change of
    credentials (user, group, capabilities), since the kernel clears it on those."""
    if _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0) != 0:  # SIGKILL
        raise _os_error("prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:
        os._exit(1)


def forbid_new_privileges() -> None:
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _os_error("prctl(PR_SET_NO_NEW_PRIVS)")


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is unavailable."""
    version = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    return max(int(version), 0)


def landlock_deny_everything(abi: int) -> list[str]:
    """Restrict this process to no file system access (and, from ABI 4, no TCP; from ABI 6, no
    abstract unix sockets or signals beyond itself). Returns the layer names applied."""
    attr = _RulesetAttr(handled_access_fs=(1 << _FS_RIGHTS_BY_ABI.get(abi, 16)) - 1)
    layers = ["landlock_filesystem"]
    size = 8
    if abi >= 4:
        attr.handled_access_net = _NET_ALL
        layers.append("landlock_network")
        size = 16
    if abi >= 6:
        attr.scoped = _SCOPE_ALL
        layers.append("landlock_scope")
        size = 24
    ruleset = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise _os_error("landlock_create_ruleset")
    try:
        if _libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            raise _os_error("landlock_restrict_self")
    finally:
        os.close(ruleset)
    return layers


def forbid_tracing() -> None:
    """Not dumpable: processes of the same user without privileges can neither trace this one nor
    read or write its memory."""
    if _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise _os_error("prctl(PR_SET_DUMPABLE)")


def limit_resources(memory_bytes: int, cpu_seconds_total: int) -> None:
    """Address space, lifetime CPU, no files written, no core dumps, few descriptors."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds_total, cpu_seconds_total))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (MAX_DESCRIPTORS, MAX_DESCRIPTORS))


def _landlock(prefix: str) -> list[str]:
    abi = landlock_abi()
    if not abi:
        return [f"missing:{prefix}landlock (not supported by this kernel)"]
    try:
        return [prefix + layer for layer in landlock_deny_everything(abi)]
    except OSError as error:
        return [f"missing:{prefix}landlock ({error})"]


def confine_server(keep_fds: set[int], memory_bytes: int, cpu_seconds_total: int) -> list[str]:
    """Apply every available layer to the fork server; it may still fork. Returns the names of the
    layers applied plus ``missing:<layer> (<why>)`` entries for those the platform refused."""
    applied = ["clean_environment"]
    close_other_descriptors(keep_fds)
    applied.append("closed_descriptors")
    try:
        enter_network_namespace()
        applied.append("network_namespace")
    except OSError as error:
        applied.append(f"missing:network_namespace ({error})")
    if drop_root():
        applied.append("user_nobody")
    forbid_new_privileges()
    applied.append("no_new_privileges")
    forbid_tracing()  # after drop_root: changing the user resets the flag
    applied.append("not_dumpable")
    applied.extend(_landlock(""))
    limit_resources(memory_bytes, cpu_seconds_total)
    applied.append("resource_limits")
    return applied


def confine_strategy_process(
    keep_fds: set[int], memory_bytes: int, cpu_seconds_total: int, server: int
) -> list[str]:
    """Confine a process just forked from the server, before it runs strategy code: the server's
    descriptors closed, a nested Landlock domain (it cannot signal or trace the server), no new
    processes, its own CPU and memory limits, and death with the server. Returns the layer names as
    :func:`confine_server`.

    Every descriptor but ``keep_fds`` is closed, from 0: the server closed its standard streams, so
    its pipes may have reused 0-2, and a strategy process that kept a copy of a pipe's write end
    would never see the end of its requests (it would outlive the server forever)."""
    close_descriptors_but(keep_fds)
    applied = ["strategy_closed_descriptors", *_landlock("strategy_")]
    limit_resources(memory_bytes, cpu_seconds_total)
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    applied.append("strategy_resource_limits")
    die_with_parent(server)  # last: nothing after it changes the process's credentials
    applied.append("die_with_server")
    return applied
