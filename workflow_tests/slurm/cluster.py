"""A one-node Slurm cluster on this machine, from Debian packages, for the workflow's Slurm test.

    python workflow_tests/slurm/cluster.py install     # install the Debian packages if missing (CI)
    python workflow_tests/slurm/cluster.py start DIR   # install the packages if needed, start
    python workflow_tests/slurm/cluster.py stop DIR    # stop the daemons started in DIR

Everything the cluster writes (munge key and socket, state, logs, pid files) lives in DIR,
except its configuration: that must be at Slurm's default path, /etc/slurm/slurm.conf,
because the executor starts each job's step with ``srun`` in an environment stripped of
``SLURM_*`` variables (so ``SLURM_CONF`` cannot point elsewhere). The file is written only
where there is none (a machine that is already part of a cluster is left alone) and is
removed by ``stop``. It needs root (the daemons run as root; jobs run as the submitting
user) and, where the packages are missing, apt-get. Every wait is bounded.

The node declares this machine's CPUs and ``MEMORY_MB`` of memory, whatever the machine has
(slurmd is told to trust the configuration): the workflow's rules request the memory a
paper-sized run needs, and the test submits exactly what a user's run submits. Nothing enforces the
limit here (no cgroups); the tiny test jobs use a few hundred MB.

No accounting daemon runs, so job status comes from ``squeue``; ``MinJobAge`` keeps finished
jobs visible to it for ten minutes, far longer than the profile's status-check interval.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
BINARIES = ["slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo", "munged", "mungekey"]
MEMORY_MB = 65536
PARTITION = "main"
CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# A one-node test cluster written by miniature's workflow_tests/slurm/cluster.py"


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if _which(b) is None]


def unavailable_reason() -> str | None:
    """Why a cluster cannot be started here, or None if it can."""
    if sys.platform != "linux":
        return "a local Slurm cluster needs Linux"
    if os.geteuid() != 0:
        return "starting a local Slurm cluster needs root (the Slurm daemons run as root)"
    if missing_binaries() and shutil.which("apt-get") is None:
        return f"Slurm is not installed ({', '.join(missing_binaries())} missing) and apt-get is not available"
    if CONF.exists() and not _ours(CONF):
        return f"{CONF} exists: this machine is configured for another Slurm cluster, which the test leaves alone"
    return None


def _ours(path: Path) -> bool:
    try:
        return path.read_text().startswith(MARKER)
    except OSError:
        return False


def _run(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def install(timeout: float = 900) -> None:
    """Install the Debian packages if any of their programs is missing."""
    if not missing_binaries():
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    began = time.monotonic()
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]):
        result = _run(cmd, timeout=max(1.0, timeout - (time.monotonic() - began)), env=env)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    if missing_binaries():
        raise RuntimeError(f"still missing after installing {PACKAGES}: {missing_binaries()}")


def _wait(condition, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class Cluster:
    """The daemons of a one-node cluster whose files live in ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.conf = CONF
        self.node = socket.gethostname().split(".")[0]
        self.pid_files = {"slurmd": self.root / "slurmd.pid", "slurmctld": self.root / "slurmctld.pid",
                          "munged": self.root / "munged.pid"}

    def slurm_conf(self) -> str:
        r = self.root
        return "\n".join([
            MARKER,
            "ClusterName=miniature",
            f"SlurmctldHost={self.node}(127.0.0.1)",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={r}/munge.socket",
            f"StateSaveLocation={r}/state",
            f"SlurmdSpoolDir={r}/spool",
            f"SlurmctldPidFile={self.pid_files['slurmctld']}",
            f"SlurmdPidFile={self.pid_files['slurmd']}",
            f"SlurmctldLogFile={r}/slurmctld.log",
            f"SlurmdLogFile={r}/slurmd.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SchedulerType=sched/builtin",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "MinJobAge=600",
            "SlurmdParameters=config_overrides",
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={os.cpu_count() or 1} RealMemory={MEMORY_MB} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
            "",
        ])

    def start(self, timeout: float = 120) -> None:
        """Start munged, slurmctld and slurmd; return when the node accepts jobs."""
        self.stop()  # daemons left over from an interrupted run in the same folder
        if self.conf.exists() and not _ours(self.conf):
            raise RuntimeError(f"{self.conf} belongs to another Slurm cluster; not touching it")
        for sub in ("state", "spool"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        self.conf.parent.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(self.slurm_conf())
        began = time.monotonic()

        def left() -> float:
            return max(1.0, timeout - (time.monotonic() - began))

        key = self.root / "munge.key"
        if not key.exists():
            _check(_run([_which("mungekey"), "--create", f"--keyfile={key}"], timeout=left()), "mungekey")
        _check(_run([_which("munged"), "--force", f"--key-file={key}", f"--socket={self.root}/munge.socket",
                     f"--pid-file={self.pid_files['munged']}", f"--log-file={self.root}/munged.log",
                     f"--seed-file={self.root}/munged.seed"], timeout=left()), "munged")
        _check(_run([_which("slurmctld"), "-c", "-f", str(self.conf)], timeout=left()), "slurmctld")
        _check(_run([_which("slurmd"), "-f", str(self.conf)], timeout=left()), "slurmd")

        def node_state() -> str | None:
            out = _run(["sinfo", "--noheader", "--format=%T", "--nodes", self.node], timeout=10)
            state = out.stdout.strip() if out.returncode == 0 else ""
            return state if state in ("idle", "mixed", "allocated") else None

        try:
            _wait(node_state, left(), f"node {self.node} to become idle")
        except TimeoutError as error:
            raise TimeoutError(f"{error}\n{self.logs()}") from None

    def logs(self, lines: int = 30) -> str:
        out = []
        for name in ("munged.log", "slurmctld.log", "slurmd.log"):
            path = self.root / name
            if path.exists():
                out.append(f"--- {path} (last {lines} lines)\n" + "\n".join(path.read_text().splitlines()[-lines:]))
        return "\n".join(out)

    def stop(self, timeout: float = 30) -> None:
        """Cancel the cluster's jobs, stop the daemons whose pid files are in ``root`` (slurmd
        first, munged last) and remove the configuration this script wrote."""
        pid = _read_pid(self.pid_files["slurmctld"])
        if pid is not None and _is_running(pid, "slurmctld") and _ours(self.conf):
            try:
                _run(["scancel", f"--user={getpass.getuser()}"], timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            pid = _read_pid(self.pid_files[name])
            if pid is None or not _is_running(pid, name):
                continue
            os.kill(pid, signal.SIGTERM)
            try:
                _wait(lambda pid=pid, name=name: not _is_running(pid, name), timeout, f"{name} (pid {pid}) to stop",
                      interval=0.2)
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
            self.pid_files[name].unlink(missing_ok=True)
        if _ours(self.conf):
            self.conf.unlink()


def _check(result: subprocess.CompletedProcess, what: str) -> None:
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}): {result.stdout}{result.stderr}")


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def _is_running(pid: int, name: str) -> bool:
    """Whether ``pid`` is alive and is the program ``name`` (not a recycled pid)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip().startswith(name[:15])
    except (FileNotFoundError, ProcessLookupError):
        return False


def main(argv: list[str]) -> int:
    if not (argv == ["install"] or (len(argv) == 2 and argv[0] in ("start", "stop"))):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "stop":
        Cluster(argv[1]).stop()
        return 0
    reason = unavailable_reason()
    if reason:
        # Not an error for "install": the Slurm test then skips with this reason.
        print(f"cannot run a local Slurm cluster: {reason}", file=sys.stderr)
        return 0 if argv[0] == "install" else 1
    install()
    if argv[0] == "install":
        return 0
    cluster = Cluster(argv[1])
    cluster.start()
    print(f"one-node cluster up: partition {PARTITION}, node {cluster.node}, configuration {cluster.conf}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
