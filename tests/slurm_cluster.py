"""A real single-node SLURM cluster for tests: munged, slurmctld and slurmd on this machine.

Everything lives in one folder (config, keys, sockets, spool, state, logs) and
uses ports nobody else holds, so two test runs on one machine do not meet.
The daemons run in the foreground as children of the test process and are
stopped by their PIDs; jobs still queued or running are cancelled first. A
test run killed outright takes the daemons with it (the parent-death signal).

Without accounting (slurmdbd), `sacct` fails, and submitit would never see a
job end that died without a result (cancelled, out of time). A small `sacct`
first on PATH answers from `squeue -t all`, which remembers finished jobs
for MinJobAge seconds, as a cluster with accounting would.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")

SACCT_STAND_IN = """#!/bin/sh
# sacct for a cluster without accounting: the jobs squeue still remembers.
ids=""
while [ $# -gt 0 ]; do
    case "$1" in
        -j) ids="$ids,$2"; shift 2 ;;
        *) shift ;;
    esac
done
echo "JobID|State|NodeList"
squeue -h -r -t all -o "%i|%T|%N" ${ids:+-j "${ids#,}"} 2>/dev/null
exit 0
"""


PR_SET_PDEATHSIG = 1  # prctl(2)


class ClusterUnavailable(Exception):
    """The daemons cannot run here; the message says why."""


@dataclass
class SlurmCluster:
    root: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def run(self, *command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def states(self) -> dict[str, str]:
        """{job id: state} of every job slurmctld still remembers (array tasks one by one)."""
        listing = self.run("squeue", "-h", "-r", "-t", "all", "-o", "%i|%T")
        pairs = (line.split("|", 1) for line in listing.stdout.splitlines() if "|" in line)
        return {job: state for job, state in pairs}

    def log(self, name: str) -> str:
        path = self.root / "log" / f"{name}.log"
        return path.read_text(errors="replace") if path.is_file() else ""


def _die_with_parent() -> None:
    """In a daemon's process before exec: SIGTERM when the test process ends, however it ends
    (a test run killed outright would otherwise leave the daemons running)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _memory_mb() -> int:
    with open("/proc/meminfo") as stream:
        total_kb = int(next(line for line in stream if line.startswith("MemTotal")).split()[1])
    return max(256, total_kb // 1024 - 512)


def _write_conf(root: Path, host: str) -> Path:
    folders = {name: root / name for name in ("state", "spool", "log", "run")}
    for folder in folders.values():
        folder.mkdir()
    conf = root / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                "ClusterName=xopipetest",
                f"SlurmctldHost={host}",
                f"SlurmctldPort={_free_port()}",
                f"SlurmdPort={_free_port()}",
                "SlurmUser=root",
                "SlurmdUser=root",
                "AuthType=auth/munge",
                "CredType=cred/munge",
                f"AuthInfo=socket={root / 'munge' / 'munge.socket'}",
                "MpiDefault=none",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_CPU",
                "JobAcctGatherType=jobacct_gather/none",
                "AccountingStorageType=accounting_storage/none",
                "SchedulerType=sched/backfill",
                "ReturnToService=2",
                # Jobs killed after SIGTERM sooner than the default 30 s; finished
                # jobs stay visible to squeue (and the sacct stand-in) for 5 minutes.
                "KillWait=5",
                "MinJobAge=300",
                f"StateSaveLocation={folders['state']}",
                f"SlurmdSpoolDir={folders['spool']}",
                f"SlurmctldPidFile={folders['run'] / 'slurmctld.pid'}",
                f"SlurmdPidFile={folders['run'] / 'slurmd.pid'}",
                f"SlurmctldLogFile={folders['log'] / 'slurmctld.log'}",
                f"SlurmdLogFile={folders['log'] / 'slurmd.log'}",
                # More CPUs than the machine has, so the small jobs of a test
                # sweep run side by side on a 2-core machine.
                "SlurmdParameters=config_overrides",
                f"NodeName={host} CPUs=8 RealMemory={_memory_mb()} State=UNKNOWN",
                f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP",
                "",
            ]
        )
    )
    return conf


def _start_munge(root: Path) -> subprocess.Popen:
    munge = root / "munge"
    munge.mkdir()
    munge.chmod(0o755)  # munged wants its socket folder reachable by all
    shutil.chown(munge, "munge", "munge")
    key = munge / "munge.key"
    subprocess.run(
        ["mungekey", "--create", f"--keyfile={key}"],
        user="munge",
        group="munge",
        check=True,
        capture_output=True,
        timeout=30,
    )
    return subprocess.Popen(
        [
            "munged",
            "--foreground",
            f"--socket={munge / 'munge.socket'}",
            f"--key-file={key}",
            f"--pid-file={munge / 'munged.pid'}",
            f"--log-file={munge / 'munged.log'}",
            f"--seed-file={munge / 'munged.seed'}",
        ],
        user="munge",
        group="munge",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )


def _wait_for(what: str, ready, cluster: SlurmCluster, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, process in cluster.processes.items():
            if process.poll() is not None:
                raise ClusterUnavailable(
                    f"{name} exited with status {process.returncode} while waiting for {what}: "
                    + (cluster.log(name)[-1500:] or _stderr(process))
                )
        if ready():
            return
        time.sleep(0.3)
    raise ClusterUnavailable(
        f"{what} not seen within {seconds:.0f} s: {cluster.log('slurmd')[-1500:]}"
    )


def _stderr(process: subprocess.Popen) -> str:
    return process.stderr.read().decode(errors="replace")[-1500:] if process.stderr else ""


def start_cluster(root: Path, extra_path: str = "") -> SlurmCluster:
    """Start munged, slurmctld and slurmd under `root`; return once the node is idle.

    Raises ClusterUnavailable with the reason when a program is missing or a
    daemon does not come up; whatever did start is stopped again first.
    """
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    if missing:
        raise ClusterUnavailable(f"not installed: {', '.join(missing)}")
    if os.geteuid() != 0:
        raise ClusterUnavailable("the daemons run as root here, and this is not root")
    root.chmod(0o755)  # munged runs as the munge user and must reach its folder
    host = socket.gethostname().split(".")[0]
    conf = _write_conf(root, host)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    sacct = bin_dir / "sacct"
    sacct.write_text(SACCT_STAND_IN)
    sacct.chmod(0o755)
    path = os.pathsep.join(p for p in (str(bin_dir), extra_path, os.environ["PATH"]) if p)
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": path}
    cluster = SlurmCluster(root, env)
    try:
        cluster.processes["munged"] = _start_munge(root)
        _wait_for("munged's socket", (root / "munge" / "munge.socket").exists, cluster, 20)
        for daemon in ("slurmctld", "slurmd"):
            cluster.processes[daemon] = subprocess.Popen(
                [daemon, "-D", "-f", str(conf)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

        def idle() -> bool:
            state = cluster.run("sinfo", "-h", "-o", "%T").stdout.strip()
            return state == "idle"

        _wait_for("the node idle in sinfo", idle, cluster, 60)
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: SlurmCluster) -> None:
    """Cancel every job, wait for the node to empty, then stop the daemons by PID."""
    if "slurmctld" in cluster.processes and cluster.processes["slurmctld"].poll() is None:
        cluster.run("scancel", "--full", "--user=root")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            live = cluster.run("squeue", "-h", "-t", "PENDING,RUNNING,COMPLETING,CONFIGURING")
            if live.returncode != 0 or not live.stdout.strip():
                break
            time.sleep(0.5)
    for name in ("slurmd", "slurmctld", "munged"):
        process = cluster.processes.pop(name, None)
        if process is None:
            continue
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
        if process.stderr:
            process.stderr.close()


def new_cluster_root() -> Path:
    """A folder the munge user can reach (pytest's own tmp folders are root-only)."""
    return Path(tempfile.mkdtemp(prefix="xopipe-slurm-"))
