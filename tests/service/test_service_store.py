"""The state store, one suite for the embedded store and PostgreSQL: audit records are durable
and whole, and what one worker writes (tokens taken, observations, flags) another sees."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from service.errors import RateLimited
from service.limits import RateLimiter
from service.monitor import RiskMonitor
from service.store import Flag, Observation, StoreUnavailable
from service.store.base import Bucket
from service.store.retention import Retention
from tests.service.store_fixtures import Backing, backing_fixture  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]


def fields(client: str, n: int) -> str:
    return json.dumps({"client": client, "n": n})[1:-1]


def test_audit_records_come_back_newest_first_from_another_worker(backing: Backing) -> None:
    a, b = backing.open(), backing.open()
    for n in range(5):
        (a if n % 2 else b).append_audit(fields("key:x" if n < 3 else "key:y", n), "key:x")
    records = a.recent_audit(10)
    assert [r["n"] for r in records] == [4, 3, 2, 1, 0]
    assert all(set(r) == {"time", "client", "n"} for r in records)
    assert [r["n"] for r in b.recent_audit(2)] == [4, 3]


def test_audit_filter_by_client_and_records_outlive_the_store(backing: Backing) -> None:
    a = backing.open()
    for n in range(6):
        client = f"addr:{n % 2}"
        a.append_audit(fields(client, n), client)
    a.close()
    again = backing.open()
    assert [r["n"] for r in again.recent_audit(10, "addr:1")] == [5, 3, 1]
    assert again.recent_audit(10, "addr:none") == []


def test_concurrent_audit_writers_leave_only_whole_records(backing: Backing) -> None:
    stores = [backing.open(), backing.open()]

    def write(i: int) -> None:
        for n in range(40):
            stores[i % 2].append_audit(fields(f"c{i}", n) + ', "pad": "' + "x" * 3000 + '"', "c")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = stores[0].recent_audit(1000)
    assert len(records) == 240
    assert sorted((r["client"], r["n"]) for r in records) == sorted(
        (f"c{i}", n) for i in range(6) for n in range(40)
    )


def test_buckets_are_updated_atomically_across_processes(backing: Backing) -> None:
    """Two processes with three threads each add 1 to one counter 50 times: 300, none lost."""
    backing.open()  # creates the schema / database before the processes race
    script = f"""
import sys, threading
sys.path.insert(0, {str(ROOT)!r})
from tests.service.store_fixtures import Backing
from pathlib import Path
b = Backing({backing.kind!r}, Path(sys.argv[1]))
b.schema = {backing.schema!r}
store = b.open()
def add(bucket):
    n = bucket[0] if bucket else 0.0
    return (n + 1, 0.0), None
def work():
    for _ in range(50):
        store.update_bucket("shared", add)
threads = [threading.Thread(target=work) for _ in range(3)]
for t in threads: t.start()
for t in threads: t.join()
store.close()
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(backing.home.parent)], env=env)
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    seen: list[Bucket | None] = []

    def read(bucket: Bucket | None) -> tuple[Bucket, None]:
        seen.append(bucket)
        assert bucket is not None
        return bucket, None

    backing.open().update_bucket("shared", read)
    assert seen == [(300.0, 0.0)]


def test_workers_opening_a_new_embedded_store_together_all_start(tmp_path) -> None:
    """Workers start together on a home without a store: each opens it, none is refused."""
    script = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from service.store.embedded import EmbeddedStore
start = float(sys.argv[2])
while time.time() < start:
    pass
EmbeddedStore(Path(sys.argv[1])).close()
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_ in range(3):
        home = tmp_path / f"home{round_}"
        home.mkdir()
        start = time.time() + 1.5  # every process imported and spinning by then
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(home), str(start)],
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        ends = [(p.communicate(timeout=120)[1], p.returncode) for p in procs]
        assert [err for err, code in ends if code != 0] == []


def test_a_rate_limit_holds_across_workers(backing: Backing) -> None:
    """A burst of 7 is 7 requests in all, whichever worker each request reaches."""
    now = [1_000_000.0]
    limiters = [
        RateLimiter(per_minute=6, burst=7, clock=lambda: now[0], store=backing.open())
        for _ in range(3)
    ]
    taken = 0
    for i in range(30):
        limiter = limiters[i % 3]
        if i % 2:
            taken += limiter.try_take("addr:a")
        else:
            try:
                limiter.check("addr:a")
                taken += 1
            except RateLimited as exc:
                assert exc.retry_after_s == 10
    assert taken == 7
    now[0] += 10.0  # 6 per minute: one more token after 10 s, for any worker
    assert limiters[1].try_take("addr:a") and not limiters[2].try_take("addr:a")
    assert limiters[0].try_take("addr:other")  # other clients have their own bucket


def test_full_buckets_are_forgotten(backing: Backing) -> None:
    store = backing.open()
    store.update_bucket("old", lambda b: ((1.0, 100.0), None))
    store.update_bucket("new", lambda b: ((1.0, 500.0), None))
    store.forget_buckets(before=200.0)
    seen = {}
    for client in ("old", "new"):
        store.update_bucket(client, lambda b, c=client: (seen.setdefault(c, b) or (0, 0), None))
    assert seen == {"old": None, "new": (1.0, 500.0)}


def q_obs(canonical: str, population: float, suppressed: int = 0, t: float = 0.0) -> Observation:
    return Observation(t, canonical, "cmp", "shape", population, suppressed)


def test_an_observation_by_one_worker_is_seen_by_another(backing: Backing) -> None:
    one = RiskMonitor(threshold=10, window=50, similar_limit=100, small_cell_limit=1000,
                      store=backing.open())  # fmt: skip
    two = RiskMonitor(threshold=10, window=50, similar_limit=100, small_cell_limit=1000,
                      store=backing.open())  # fmt: skip
    assert one.record("addr:a", "q1", "cmp", "shape", 1000.0, 0) == []
    flags = two.record("addr:a", "q2", "cmp", "shape", 995.0, 0)  # the pair spans workers
    assert [f.kind for f in flags] == ["differencing"]
    assert flags[0].queries == ("q1", "q2")
    assert one.summary() == {"clients": 1, "flags": {
        "differencing": 1, "near_identical": 0, "small_cell_sweep": 0}}  # fmt: skip
    (flag,) = one.flags(client="addr:a")
    assert flag["queries"] == ["q1", "q2"] and flag["kind"] == "differencing"
    assert one.flags(client="addr:b") == []


def test_the_window_keeps_the_newest_observations_only(backing: Backing) -> None:
    stores = [backing.open(), backing.open()]
    seen: list[list[str]] = []

    def remember(history):  # type: ignore[no-untyped-def]
        seen.append([o.canonical for o in history])
        return []

    for n in range(12):
        stores[n % 2].observe("c", q_obs(f"q{n}", n), 5, remember)
    assert seen[4] == ["q0", "q1", "q2", "q3"]
    assert seen[-1] == ["q6", "q7", "q8", "q9", "q10"]
    assert stores[0].risk_summary() == (1, {})


def test_a_healthy_store_reports_no_problems(backing: Backing) -> None:
    assert backing.open().problems() == []


def test_an_unreachable_postgresql_is_a_clear_refusal_without_the_dsn() -> None:
    from service.store.postgres import PostgresStore

    secret = "postgresql://zicht:pa55word-secret@127.0.0.1:1/none?connect_timeout=1"
    with pytest.raises(StoreUnavailable) as caught:
        PostgresStore(secret, "zicht")
    assert caught.value.error_type == "store_unavailable"
    assert "pa55word" not in str(caught.value) and "127.0.0.1" not in str(caught.value)


# --- through the service: no answer without its record; /ready tells the truth ----------------

AGG = "/api/v1/cubes/drug_suspects/aggregate?measures=suspects&drilldown=residence@gemeente"


class Proxy:
    """A TCP relay to PostgreSQL that can be cut, as a network failure would."""

    def __init__(self, host: str, port: int) -> None:
        import socket

        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b) -> None:  # type: ignore[no-untyped-def]
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        import socket

        self.open = False
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def test_postgresql_gone_means_not_ready_and_no_unaudited_answer(tmp_path, monkeypatch):
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from tests.service.store_fixtures import postgres_dsn
    from tests.service.zicht_fakes import make_app

    pg = Backing("postgresql", tmp_path)
    parts = conninfo_to_dict(postgres_dsn())
    proxy = Proxy(str(parts.get("host", "127.0.0.1")), int(parts.get("port", 5432)))
    dsn = make_conninfo(postgres_dsn(), host="127.0.0.1", port=str(proxy.port))
    monkeypatch.setenv("ZICHT_STORE_DSN", dsn)
    app = make_app(tmp_path, store="postgresql", store_schema=pg.schema)
    try:
        client = app.test_client()
        assert client.get("/ready").status_code == 200
        assert client.get(AGG).status_code == 200  # computed, audited, cached
        assert len(app.extensions["zicht"].store.recent_audit(10)) == 1
        proxy.cut()
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json["error_type"] == "not_ready"
        assert "PostgreSQL state store cannot be reached" in ready.get_data(as_text=True)
        answer = client.get(AGG)  # cached: still never sent without its record
        assert answer.status_code == 503
        assert answer.json["error_type"] == "store_unavailable"
        assert "values" not in answer.get_data(as_text=True)
        text = answer.get_data(as_text=True) + ready.get_data(as_text=True)
        assert "zicht_test" not in text and str(proxy.port) not in text
    finally:
        app.extensions["zicht"].close()
        pg.drop()


def test_a_full_audit_disk_refuses_the_answer_and_tears_nothing(tmp_path, monkeypatch):
    import errno

    import service.audit
    from tests.service.zicht_fakes import make_app

    app = make_app(tmp_path)
    client = app.test_client()
    assert client.get(AGG).status_code == 200
    real_write = os.write

    def full(fd: int, data: bytes) -> int:  # half the line fits, then the disk is full
        if data.endswith(b"\n") and len(data) > 100:
            return real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(service.audit.os, "write", full)
    refused = client.get(AGG + "&totals=grand")
    assert refused.status_code == 503 and refused.json["error_type"] == "store_unavailable"
    monkeypatch.setattr(service.audit.os, "write", real_write)
    assert client.get(AGG).status_code == 200
    home = app.extensions["zicht"].home
    lines = [
        ln for p in (home / "audit").glob("audit-*.jsonl") for ln in p.read_text().splitlines()
    ]
    assert len(lines) == 2 and all(json.loads(ln)["cube"] == "drug_suspects" for ln in lines)


# --- retention: clients never seen again do not stay forever, no table grows without bound ---

DAY = 86_400.0


def _obs(at: float, n: int = 0) -> Observation:
    return Observation(at, f"q{n}", "c", "s", 100.0, 0)


def _flagging(at: float, client: str):
    def check(history):
        return [Flag(at, client, "differencing", "test", ("a", "b"))]

    return check


def _has_bucket(store, client: str) -> bool:
    return store.update_bucket(client, lambda b: (b or (1.0, time.time()), b is not None))


def test_clients_not_seen_for_the_retention_age_are_forgotten(backing: Backing) -> None:
    store, other = backing.open(), backing.open()
    now = time.time()
    for client, at in (("gone", now - 40 * DAY), ("kept", now - 2 * DAY)):
        store.update_bucket(client, lambda b, at=at: ((3.0, at), None))
        for n in range(3):
            store.observe(client, _obs(at + n, n), 10, _flagging(at + n, client))
    assert store.risk_summary() == (2, {"differencing": 6})
    deleted = other.prune(now - 30 * DAY, 1_000_000)
    assert deleted == {"observations": 3, "flags": 3, "buckets": 1}
    assert store.risk_summary() == (1, {"differencing": 3})  # seen from the first worker too
    assert {f.client for f in store.flags(100)} == {"kept"}
    assert (_has_bucket(store, "gone"), _has_bucket(store, "kept")) == (False, True)
    seen: list = []
    store.observe("kept", _obs(now), 10, lambda h: seen.extend(h) or [])
    assert [o.canonical for o in seen] == ["q0", "q1", "q2"]  # a live client keeps its memory
    assert other.prune(now - 30 * DAY, 1_000_000) == {"observations": 0, "flags": 0, "buckets": 0}


def test_no_table_keeps_more_than_max_rows_and_the_oldest_go_first(backing: Backing) -> None:
    store = backing.open()
    now = time.time()
    for i in range(12):  # client c00 is the oldest
        client, at = f"c{i:02d}", now - 100 + i
        store.update_bucket(client, lambda b, at=at: ((3.0, at), None))
        store.observe(client, _obs(at), 10, _flagging(at, client))
    deleted = store.prune(now - 30 * DAY, 5)
    assert deleted == {"observations": 7, "flags": 7, "buckets": 7}
    newest = {f"c{i:02d}" for i in range(7, 12)}
    assert {f.client for f in store.flags(100)} == newest
    assert store.risk_summary()[0] == 5
    assert [_has_bucket(store, f"c{i:02d}") for i in range(12)] == [False] * 7 + [True] * 5


def test_each_store_prunes_on_its_own_without_holding_up_writes(backing: Backing) -> None:
    store = backing.open(Retention(max_age_s=30 * DAY, max_rows=4, every_s=0.0))
    now = time.time()
    for i in range(15):
        store.observe(f"c{i}", _obs(now - 100 + i), 10, _flagging(now - 100 + i, f"c{i}"))
    deadline = time.monotonic() + 30
    while True:  # the runs happen in their own thread, one at a time; a last one catches up
        time.sleep(0.05)
        store.pruning.tick()
        time.sleep(0.05)
        if store.pruning.runs and len(store.flags(100)) <= 4:
            break
        assert time.monotonic() < deadline, "no background pruning"
    assert {f.client for f in store.flags(100)} == {f"c{i}" for i in range(11, 15)}
    if backing.kind == "embedded":  # each run's thread closed its connection when it ended
        time.sleep(0.2)
        assert len(store._all) <= 2, len(store._all)  # this thread's and at most one running


def test_the_in_memory_store_prunes_the_same_way() -> None:
    from service.store import MemoryStore

    store = MemoryStore()
    now = time.time()
    for client, at in (("gone", now - 40 * DAY), ("kept", now - 2 * DAY)):
        store.update_bucket(client, lambda b, at=at: ((3.0, at), None))
        for n in range(3):
            store.observe(client, _obs(at + n, n), 10, _flagging(at + n, client))
    assert store.prune(now - 30 * DAY, 1_000_000) == {
        "observations": 3, "flags": 3, "buckets": 1,
    }  # fmt: skip
    assert store.risk_summary()[0] == 1 and {f.client for f in store.flags(100)} == {"kept"}
    assert store.prune(0.0, 2)["flags"] == 1  # the cap: the oldest flag goes
