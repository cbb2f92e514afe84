"""Closed-loop HTTP load from separate processes (threads + http.client), bounded in time.

Each client thread owns a disjoint slice of the participants, so the diary
writes it makes are unambiguous: the first PUT of a participant's day creates
the entry (201), later ones correct it with a reason (200), and a few replay
the previous request byte for byte (offline sync retries: 200, no new entry).
Every PUT answered 2xx is reported back with its client_id, so callers can
check the database afterwards.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

HOST = "127.0.0.1"
KINDS = ("put", "history", "flags", "bare", "floor")
# The realistic mix: mostly diary writes and the history screen, some staff inbox reads.
MIX = {"put": 0.5, "history": 0.35, "flags": 0.15}
NOTES = ("Walked the dog; stiff afterwards.", "Slept badly after the long drive.")
DOSE_CHOICES = [
    {"drug": "oxycodone", "strength": 5, "units": 2},
    {"drug": "tramadol", "strength": 50, "units": 1},
    {"drug": "hydrocodone", "strength": 10, "units": 1.5},
    {"drug": "morphine", "strength": 15, "units": 1},
]


@dataclass
class Plan:
    port: int
    scenario: str  # mix | put | bare | floor
    clients: int
    seconds: float
    participants: list[tuple[str, str, str]] = field(default_factory=list)  # (id, cookie, csrf)
    staff: list[tuple[str, str]] = field(default_factory=list)  # (cookie, csrf)
    # "study_id|date" of entries that exist already: the next write there is a correction.
    written: set[str] = field(default_factory=set)
    timezone: str = "America/Chicago"
    processes: int = 2
    red_flag_share: float = 0.02
    replay_share: float = 0.05
    seed: int = 1
    timeout: float = 30.0


@dataclass
class Result:
    scenario: str
    clients: int
    seconds: float
    samples: dict[str, list[float]]  # kind → latencies (ms) of 2xx answers
    statuses: dict[str, dict[int, int]]  # kind → status → count (0: connection error)
    # (study_id, date, client_id, status, version, answered at: epoch seconds)
    acked: list[tuple[str, str, str, int, int, float]]

    def throughput(self, kind: str) -> float:
        return len(self.samples.get(kind, [])) / self.seconds

    def percentile(self, kind: str, q: float) -> float:
        data = sorted(self.samples.get(kind, []))
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(q / 100 * len(data)))]


def _call(port, method, path, body, headers, timeout):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, data
    finally:
        conn.close()


def _entry_body(rng: random.Random, tz: ZoneInfo, red_flag: bool, reason: bool) -> dict:
    symptoms = rng.sample(["headache", "nausea", "constipation", "drowsiness"], rng.randint(0, 2))
    if red_flag:
        symptoms.append("fever")
    body = {
        "client_id": str(uuid.uuid4()),
        "back_pain": rng.randint(0, 10),
        "leg_pain": rng.randint(0, 10),
        "doses": rng.sample(DOSE_CHOICES, rng.randint(1, 3)),
        "symptoms": symptoms,
        "temperature_c": 38.4 if red_flag else round(rng.uniform(36.2, 37.4), 1),
        "note": rng.choice([None, *NOTES]),
        "device_time": datetime.now(tz).isoformat(timespec="seconds"),
    }
    if reason:
        body["reason"] = "changed my answer"
    return body


def _client(plan: Plan, index: int, mine: list, deadline: float, out: dict) -> None:
    rng = random.Random(plan.seed * 1000 + index)
    tz = ZoneInfo(plan.timezone)
    written: dict[str, set[str]] = {}
    for key in plan.written:
        sid, _, day = key.partition("|")
        written.setdefault(sid, set()).add(day)
    last_put: dict[str, tuple[str, bytes, str]] = {}
    staff = plan.staff[index % len(plan.staff)] if plan.staff else None
    kinds, weights = zip(*MIX.items(), strict=True)
    samples, statuses, acked = out["samples"], out["statuses"], out["acked"]
    n = 0
    while time.monotonic() < deadline:
        if plan.scenario in ("bare", "put", "floor"):
            kind = plan.scenario
        else:
            kind = rng.choices(kinds, weights)[0]
            if kind == "flags" and staff is None:
                kind = "history"
        headers = {"Accept": "application/json"}
        body = None
        method = "GET"
        study_id = day = client_id = None
        if kind == "bare":
            path = "/ping"
        elif kind == "flags":
            path = "/api/v1/staff/flags?status=open&limit=50"
            headers.update({"Cookie": staff[0]})
        else:
            study_id, cookie, csrf = mine[n % len(mine)]
            headers.update({"Cookie": cookie, "X-CSRF-Token": csrf})
            today = datetime.now(tz).date()
            if kind == "floor":  # the yardstick write (bench/bare.py): a diary PUT's body
                method = "PUT"
                headers["Content-Type"] = "application/json"
                body = json.dumps(_entry_body(rng, tz, False, reason=False)).encode()
                path = f"/floor/{today.isoformat()}"
            elif kind == "history":
                start = (today - timedelta(days=30)).isoformat()
                path = f"/api/v1/entries?from={start}&to={today.isoformat()}"
            else:
                method = "PUT"
                headers["Content-Type"] = "application/json"
                day = today.isoformat()
                if study_id in last_put and rng.random() < plan.replay_share:
                    # an offline retry of the same write
                    path, body, client_id = last_put[study_id]
                else:
                    seen = written.setdefault(study_id, set())
                    data = _entry_body(
                        rng, tz, rng.random() < plan.red_flag_share, reason=day in seen
                    )
                    body = json.dumps(data).encode()
                    path = f"/api/v1/entries/{day}"
                    client_id = data["client_id"]
                    last_put[study_id] = (path, body, client_id)
                    seen.add(day)  # even if the answer is lost: the next write sends a reason
                day = path.rsplit("/", 1)[1]
        n += 1
        started = time.perf_counter()
        try:
            status, raw = _call(plan.port, method, path, body, headers, plan.timeout)
        except (OSError, http.client.HTTPException):
            status, raw = 0, b""
        elapsed = (time.perf_counter() - started) * 1000
        by_status = statuses.setdefault(kind, {})
        by_status[status] = by_status.get(status, 0) + 1
        if 200 <= status < 300:
            samples.setdefault(kind, []).append(elapsed)
            if kind == "put":
                version = json.loads(raw).get("version", 0)
                acked.append((study_id, day, client_id, status, version, time.time()))


def _process(plan: Plan, first_client: int, count: int, start_at: float, queue) -> None:
    import threading

    # Participants are dealt to clients round-robin: disjoint slices.
    slices = {
        i: plan.participants[i :: plan.clients] or plan.participants[:1]
        for i in range(first_client, first_client + count)
    }
    outs = {i: {"samples": {}, "statuses": {}, "acked": []} for i in slices}
    while time.time() < start_at:
        time.sleep(0.005)
    deadline = time.monotonic() + plan.seconds
    threads = [
        threading.Thread(target=_client, args=(plan, i, slices[i], deadline, outs[i]))
        for i in slices
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(plan.seconds + plan.timeout + 10)
    queue.put(list(outs.values()))


def run(plan: Plan) -> Result:
    """Run the plan from `plan.processes` separate processes; merge what they saw."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    processes = min(plan.processes, plan.clients)
    share = [
        plan.clients // processes + (1 if i < plan.clients % processes else 0)
        for i in range(processes)
    ]
    start_at = time.time() + 0.75  # let every process start before the clock runs
    procs, first = [], 0
    for count in share:
        p = ctx.Process(target=_process, args=(plan, first, count, start_at, queue), daemon=True)
        p.start()
        procs.append(p)
        first += count
    outs = []
    for _ in procs:
        outs.extend(queue.get(timeout=plan.seconds + plan.timeout + 60))
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.kill()
    samples: dict[str, list[float]] = {}
    statuses: dict[str, dict[int, int]] = {}
    acked: list = []
    for out in outs:
        for kind, values in out["samples"].items():
            samples.setdefault(kind, []).extend(values)
        for kind, counts in out["statuses"].items():
            merged = statuses.setdefault(kind, {})
            for status, count in counts.items():
                merged[status] = merged.get(status, 0) + count
        acked.extend(out["acked"])
    return Result(plan.scenario, plan.clients, plan.seconds, samples, statuses, acked)
