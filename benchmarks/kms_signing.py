"""Signing through KMS: tokens per second and the latency each KMS signature adds, on the local stack.

Usage: python benchmarks/kms_signing.py [--stack local] [--requests 300] [--workers 4]
(the local stack up with `--signing kms`).

Two throwaway realms with the same clients, one signing with an imported ES256 key (Keycloak signs in
its JVM), one with a KMS ES256 key in the stack's KMS emulation (every token is a KMS `Sign` over HTTP).
Each gets a warm-up, then `--requests` sequential client-credentials grants (latency: median and p95)
and the same number spread over `--workers` threads (throughput). The difference of the medians is the
latency one KMS signature adds here (loopback, moto in Python: an upper bound for the emulation, not
AWS's figure). Bounded by the request counts; the realms are deleted at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from idpkit.keycloak_admin import AdminApi
from idpkit.keys.kms import local_kms
from idpkit.keys.live import LiveRealm
from idpkit.keys.rotation import KeyManager
from idpkit.keys.store import LocalKeyStore
from idpkit.outputs import load_outputs
from tests.keys.conftest import SERVICE, Probe, open_probe


def _grant(session: requests.Session, probe: Probe) -> float:
    started = time.perf_counter()
    response = session.post(
        f"{probe.realm_url}/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": SERVICE[0], "client_secret": SERVICE[1]},
        verify=probe.outputs.tls_verify,
        timeout=30,
    )
    if response.status_code != 200:
        raise SystemExit(f"{probe.realm}: HTTP {response.status_code} {response.text[:200]}")
    return time.perf_counter() - started


def _measure(probe: Probe, count: int, workers: int) -> dict[str, float]:
    session = requests.Session()
    for _ in range(30):
        _grant(session, probe)
    latencies = sorted(_grant(session, probe) for _ in range(count))
    done: list[int] = []

    def work() -> None:
        own = requests.Session()
        for _ in range(count // workers):
            _grant(own, probe)
        done.append(count // workers)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
        "tokens_per_second": sum(done) / (time.perf_counter() - started),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="local")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    outputs = load_outputs(args.stack)
    results = {}
    for signing in ("imported", "kms"):
        probe = open_probe(outputs, f"bench-sign-{signing}", "ES256", Path(tempfile.mkdtemp(prefix="kms-bench-")))
        try:
            probe.token()
            manager = KeyManager(
                LiveRealm(probe.admin),
                LocalKeyStore(probe.store),
                margin_seconds=0,
                kms=local_kms(args.stack) if signing == "kms" else None,
            )
            manager.rotate()
            results[signing] = _measure(probe, args.requests, args.workers)
        finally:
            AdminApi(probe.admin.connection, "master").drop_realm(probe.realm)
    for signing, figures in results.items():
        print(
            f"{signing:8s} ES256: median {figures['median_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms, "
            f"{figures['tokens_per_second']:.1f} tokens/s with {args.workers} workers"
        )
    added = results["kms"]["median_ms"] - results["imported"]["median_ms"]
    print(f"added per KMS signature (median): {added:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
