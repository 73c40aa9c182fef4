"""A real Spark Connect server over a small standalone cluster, from pyspark's own distribution,
bound to loopback: a master, one worker and the Connect server (the driver), each its own JVM.

``python -m tests.conformance.spark_cluster`` starts one and prints its ``sc://`` URL until
interrupted; the conformance tests start their own (or use ``ZICHT_TEST_SPARK_CONNECT``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

START_TIMEOUT_S = 240.0


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, procs: list[subprocess.Popen[bytes]], logs: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"a Spark process exited early; logs in {logs}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise RuntimeError(f"Spark did not listen on {port} within {START_TIMEOUT_S:.0f} s; {logs}")


@contextmanager
def spark_connect_cluster(
    workdir: Path, conf: dict[str, str] | None = None, worker_memory: str = "2g"
) -> Iterator[str]:
    """Start master, worker and Connect server; yield ``sc://127.0.0.1:<port>``; stop all.
    ``conf``: the Connect server's settings (e.g. ``spark.executor.memory``, at most
    ``worker_memory``)."""
    home = spark_home()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",  # every listener, web UIs included, on loopback
        "SPARK_LOG_DIR": str(workdir),
        "SPARK_WORKER_DIR": str(workdir / "work"),
    }
    master_port, connect_port = free_port(), free_port()
    master = f"spark://127.0.0.1:{master_port}"
    commands = [
        [f"{home}/bin/spark-class", "org.apache.spark.deploy.master.Master",
         "--host", "127.0.0.1", "--port", str(master_port), "--webui-port", "0"],
        [f"{home}/bin/spark-class", "org.apache.spark.deploy.worker.Worker",
         "--host", "127.0.0.1", "--cores", "2", "--memory", worker_memory, "--webui-port", "0",
         master],
    ]  # fmt: skip
    settings = {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(connect_port),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.executor.memory": "1g",
        "spark.sql.shuffle.partitions": "4",
        **(conf or {}),
    }
    connect = [f"{home}/bin/spark-submit", "--master", master, "--class",
               "org.apache.spark.sql.connect.service.SparkConnectServer"]  # fmt: skip
    for key, value in settings.items():
        connect += ["--conf", f"{key}={value}"]
    commands.append([*connect, "spark-internal"])
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for n, command in enumerate(commands):
            log = open(workdir / f"process-{n}.log", "wb")  # noqa: SIM115 -- lives with the process
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
            if n == 0:
                _wait_for_port(master_port, procs, workdir)
        _wait_for_port(connect_port, procs, workdir)
        yield f"sc://127.0.0.1:{connect_port}"
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        for log in logs:
            log.close()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="a Spark Connect server over a local cluster")
    parser.add_argument("workdir", nargs="?", default="spark-cluster")
    parser.add_argument("--worker-memory", default="2g")
    parser.add_argument("--conf", action="append", default=[], help="key=value for the server")
    args = parser.parse_args()
    conf = dict(item.split("=", 1) for item in args.conf)
    # SIGTERM as Ctrl-C: the cluster's processes (sessions of their own) are stopped either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with spark_connect_cluster(Path(args.workdir), conf, args.worker_memory) as url:
        print(url, flush=True)
        with suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
