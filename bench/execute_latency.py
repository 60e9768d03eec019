"""End-to-end latency of POST /api/v1/execute against plain `docker run`, measured in one run.

Starts a real `faas serve` on a free port with a throw-away data dir, then measures:
  * ephemeral python and javascript hello world served from the warm pool
    (each request waits until the pool is full again, so this is the latency of
    a lightly loaded node, not refill throughput),
  * a cached hit,
  * sustained throughput: requests back to back with 4 in flight, pool refills included,
  * the baseline: `docker run --rm --network none IMAGE <same program>`.
Prints a table with p50/p95 and ratios and writes bench/results/execute_latency.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from _stats import summary, timed

from provisioning import runtime_image_reference

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key-0123456789abcdef0123456789abcdef"
POOL_SIZE = 2
PROGRAMS = {
    "python": ("print('Hello World')", ["python3", "-c", "print('Hello World')"]),
    "javascript": ("console.log('Hello World')", ["node", "-e", "console.log('Hello World')"]),
}


class Node:
    def __init__(self, data_dir: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        pools = json.dumps({"python": POOL_SIZE, "javascript": POOL_SIZE})
        env = {
            **os.environ,
            "FAAS_API_KEYS": KEY,
            "FAAS_POOL_SIZES": pools,
            # latency, not the limits, is measured here
            "FAAS_RATE_LIMIT_PER_MINUTE": "1000000",
            "FAAS_RATE_LIMIT_PER_HOUR": "1000000",
        }
        self.log = (data_dir / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "faas"), "serve", "--port", str(self.port), "--data-dir", str(data_dir),
             "--log-level", "warning"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}/api/v1", headers={"Authorization": f"Bearer {KEY}"}, timeout=120
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if self.http.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise SystemExit("the node did not start; see serve.log")

    def warm(self, language: str) -> int:
        return int(self.http.get("/health").json()["warm_sandboxes"].get(language, 0))

    def wait_warm(self, language: str, count: int = 1) -> None:
        deadline = time.monotonic() + 60
        while self.warm(language) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"warm pool for {language} did not refill")
            time.sleep(0.02)

    def wait_idle(self) -> None:
        """Every warm pool full again, so a scenario does not pay for the previous one's refills."""
        for language in PROGRAMS:
            self.wait_warm(language, POOL_SIZE)

    def execute(self, language: str, code: str, mode: str = "ephemeral") -> dict[str, Any]:
        response = self.http.post("/execute", json={"code": code, "language": language, "mode": mode})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        assert body["stdout"] == "Hello World\n", body
        return body

    def close(self) -> None:
        self.http.close()
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        self.log.close()


def measure_ephemeral(node: Node, language: str, code: str, iterations: int) -> dict[str, float]:
    """Latency with a full warm pool before each request (a lightly loaded node)."""
    node.wait_warm(language, POOL_SIZE)
    node.execute(language, code)  # the first request warms the HTTP path
    samples, inside = [], []
    for _ in range(iterations):
        node.wait_warm(language, POOL_SIZE)
        started = time.perf_counter()
        body = node.execute(language, code)
        samples.append((time.perf_counter() - started) * 1000)
        inside.append(float(body["duration_ms"]))
    return {**summary(samples), "sandbox_duration_p50_ms": statistics.median(inside)}


def docker_run(language: str) -> None:
    image = runtime_image_reference(language)
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", image, *PROGRAMS[language][1]],
        capture_output=True, check=True,
    )  # fmt: skip
    assert done.stdout == b"Hello World\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--iterations", type=int, default=40)
    parser.add_argument("--baseline-iterations", type=int, default=20)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "execute_latency.json")
    args = parser.parse_args()
    results: dict[str, Any] = {"iterations": args.iterations, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="faas-bench-") as data_dir:
        node = Node(Path(data_dir))
        try:
            for language, (code, _) in PROGRAMS.items():
                results[f"ephemeral_{language}"] = measure_ephemeral(node, language, code, args.iterations)
            code = PROGRAMS["python"][0] + "  # cached"
            node.execute("python", code, "cached")
            node.wait_idle()
            hits = [timed(lambda: node.execute("python", code, "cached")) for _ in range(args.iterations)]
            results["cached_hit_python"] = summary(hits)
            node.wait_warm("python", 2)
            burst = args.iterations
            started = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                sustained = list(pool.map(lambda _: timed(lambda: node.execute("python", PROGRAMS["python"][0])),
                                          range(burst)))  # fmt: skip
            elapsed = time.perf_counter() - started
            results["sustained_python_4_in_flight"] = {**summary(sustained), "per_second": round(burst / elapsed, 2)}
        finally:
            node.close()
    for language in PROGRAMS:
        docker_run(language)  # page the image in before timing
        results[f"baseline_docker_run_{language}"] = summary(
            [timed(functools.partial(docker_run, language)) for _ in range(args.baseline_iterations)]
        )
    report(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {args.output}")


def report(results: dict[str, Any]) -> None:
    print(f"\n{'scenario':34} {'p50 ms':>8} {'p95 ms':>8} {'vs docker run p50':>18}")
    for name, figures in results.items():
        if not isinstance(figures, dict):
            continue
        language = "javascript" if "javascript" in name else "python"
        base = results.get(f"baseline_docker_run_{language}", {}).get("p50_ms")
        ratio = f"{figures['p50_ms'] / base:.3f}x" if base and not name.startswith("baseline") else ""
        extra = f"  ({figures['per_second']}/s)" if "per_second" in figures else ""
        print(f"{name:34} {figures['p50_ms']:8.1f} {figures['p95_ms']:8.1f} {ratio:>18}{extra}")
    python = results["ephemeral_python"]["p50_ms"]
    base = results["baseline_docker_run_python"]["p50_ms"]
    print(
        f"\ntargets: ephemeral python p50 {python:.1f} ms (≤ 60: {'met' if python <= 60 else 'MISSED'}), "
        f"{python / base:.3f}x docker run (≤ 0.2: {'met' if python / base <= 0.2 else 'MISSED'}); "
        f"cached hit p50 {results['cached_hit_python']['p50_ms']:.1f} ms "
        f"(≤ 5: {'met' if results['cached_hit_python']['p50_ms'] <= 5 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
