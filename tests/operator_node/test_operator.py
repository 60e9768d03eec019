"""The operator node end to end: a real localnet, real `faas operator` processes, real Docker.

Jobs are submitted as a user would, with ``TangleFaaSClient`` (substrate-interface underneath),
and results are checked on chain: exactly one per call, whatever crashes or restarts.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from substrateinterface import Keypair

from blueprint import (
    BranchCreateJob,
    JobRequest,
    SnapshotCreateJob,
    SnapshotRestoreJob,
    encode_job_args,
)
from chain import ChainClient, ServicesClient
from faas_sdk.tangle import TangleFaaSClient, VerificationError, VerifiedResult
from localnet import running_localnet
from tests.operator_node.harness import ALICE, FAAS, OperatorProcess, Service, bootstrap, results_for

pytestmark = pytest.mark.slow


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[str]:
    with running_localnet(block_time=0.25, finality_lag=1, base_path=tmp_path / "chain") as localnet:
        yield localnet.url


@pytest.fixture
def operator(require_docker: None, chain: str, tmp_path: Path) -> Iterator[OperatorProcess]:
    node = OperatorProcess(chain, tmp_path / "operator")
    yield node
    node.stop()


@pytest.fixture
def service(chain: str, operator: OperatorProcess) -> Service:
    return bootstrap(chain, [(ALICE, operator)])


def client(service: Service, seed: str = "//Bob") -> TangleFaaSClient:
    return TangleFaaSClient(rpc_url=service.url, service_id=service.service_id, seed=seed)


def test_a_job_submitted_on_chain_is_run_answered_and_verified(operator: OperatorProcess, service: Service) -> None:
    operator.start()
    with client(service) as user:
        call_id = user.submit_job(code='print("Verified execution")', language="python")
        result = user.wait_for_result(call_id, timeout=120)
    assert result.stdout == "Verified execution\n"
    assert result.exit_code == 0 and result.status == "completed"
    served = operator.job(service.service_id, call_id).json()
    assert served["status"] == "completed" and served["job_name"] == "execute"
    assert served["receipt"]["operator_key"] == "0x" + operator.role_key.hex()
    assert len(results_for(service.url, service.service_id, call_id)) == 1

    # `faas verify` checks the same from the command line.
    verified = subprocess.run(
        [FAAS, "verify", "--chain", service.url, "--service", str(service.service_id), "--call", str(call_id)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "verified" in verified.stdout.lower()


def test_failing_jobs_still_get_a_result_that_says_so(operator: OperatorProcess, service: Service) -> None:
    operator.start()
    with client(service) as user:
        compile_error = user.submit_job(code="fn main() { let x: i32 = ; }", language="rust")
        bad_language = user.submit_job(code="print(1)", language="cobol")
        crashed = user.submit_job(code="import sys; print('partial'); sys.exit(3)", language="python")
        failed_build = user.wait_for_result(compile_error, timeout=180)
        unknown = user.wait_for_result(bad_language, timeout=60)
        exited = user.wait_for_result(crashed, timeout=60)
    assert failed_build.status == "failed" and "error" in failed_build.stderr
    assert unknown.status == "failed" and "cobol" in unknown.stderr
    assert (exited.status, exited.exit_code, exited.stdout) == ("failed", 3, "partial\n")


def test_tampered_output_is_detected_by_the_client_and_by_faas_verify(
    operator: OperatorProcess, service: Service
) -> None:
    operator.start()
    with client(service) as user:
        call_id = user.submit_job(code="print('honest')", language="python")
        user.wait_for_result(call_id, timeout=120)
        # The operator's database is edited after the fact: what it serves no longer matches its receipt.
        database = sqlite3.connect(operator.data_dir / "faas.sqlite3")
        with database:
            row = database.execute(
                "SELECT output FROM chain_jobs WHERE service_id = ? AND call_id = ?", (service.service_id, call_id)
            ).fetchone()
            output = json.loads(row[0])
            output["stdout"] = "forged\n"
            database.execute(
                "UPDATE chain_jobs SET output = ? WHERE service_id = ? AND call_id = ?",
                (json.dumps(output), service.service_id, call_id),
            )
        database.close()
        with pytest.raises(VerificationError) as caught:
            user.wait_for_result(call_id, timeout=60)
    assert any("stdout" in reason for reason in caught.value.reasons)
    verified = subprocess.run(
        [FAAS, "verify", "--chain", service.url, "--service", str(service.service_id), "--call", str(call_id)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert verified.returncode == 1
    assert "stdout" in verified.stdout


def test_an_operator_killed_mid_job_answers_exactly_once_after_restart(
    operator: OperatorProcess, service: Service
) -> None:
    operator.start()
    with client(service) as user:
        call_id = user.submit_job(code="import time; time.sleep(4); print('slow')", language="python")
        deadline = time.monotonic() + 60
        while operator.job(service.service_id, call_id).json().get("status") != "running":
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.2)
        operator.kill()
        operator.start()
        result = user.wait_for_result(call_id, timeout=120)
    assert result.stdout == "slow\n"
    time.sleep(2)  # a duplicate would land within a few blocks
    assert len(results_for(service.url, service.service_id, call_id)) == 1


def test_jobs_called_while_the_operator_was_down_are_all_answered(operator: OperatorProcess, service: Service) -> None:
    with client(service) as user:
        calls = [user.submit_job(code=f"print({n} * {n})", language="python") for n in range(3)]
        operator.start()
        results = [user.wait_for_result(call_id, timeout=120) for call_id in calls]
    assert [r.stdout for r in results] == ["0\n", "1\n", "4\n"]
    for call_id in calls:
        assert len(results_for(service.url, service.service_id, call_id)) == 1


def test_the_operator_reconnects_after_the_localnet_restarts(require_docker: None, tmp_path: Path) -> None:
    base_path = tmp_path / "chain"
    operator = OperatorProcess("", tmp_path / "operator")
    with running_localnet(block_time=0.25, finality_lag=1, base_path=base_path) as first:
        port = int(first.url.rsplit(":", 1)[1])
        operator.chain_url = first.url
        service = bootstrap(first.url, [(ALICE, operator)])
        operator.start()
        with client(service) as user:
            before = user.wait_for_result(user.submit_job(code="print('before')", language="python"), timeout=120)
    assert before.stdout == "before\n"
    try:
        time.sleep(2)  # the operator keeps running while the chain is down
        with (
            running_localnet(block_time=0.25, finality_lag=1, base_path=base_path, port=port) as again,
            TangleFaaSClient(rpc_url=again.url, service_id=service.service_id, seed="//Bob") as user,
        ):
            after = user.wait_for_result(user.submit_job(code="print('after')", language="python"), timeout=120)
    finally:
        operator.stop()
    assert after.stdout == "after\n"


def test_a_second_operator_does_not_answer_calls_assigned_to_the_first(
    require_docker: None, chain: str, tmp_path: Path
) -> None:
    first = OperatorProcess(chain, tmp_path / "first", seed="//Alice")
    second = OperatorProcess(chain, tmp_path / "second", seed="//Charlie")
    charlie = Keypair.create_from_uri("//Charlie")
    service = bootstrap(chain, [(ALICE, first), (charlie, second)])
    first.start()
    second.start()
    try:
        with client(service) as user:
            calls = [user.submit_job(code=f"print({n})", language="python") for n in range(4)]
            for call_id in calls:
                user.wait_for_result(call_id, timeout=120)
        for call_id in calls:
            results = results_for(chain, service.service_id, call_id)
            assert len(results) == 1
            expected = (ALICE if call_id % 2 == 0 else charlie).ss58_address
            assert results[0].operator == expected
            # Only the assigned operator recorded the call at all.
            assignee, other = (first, second) if call_id % 2 == 0 else (second, first)
            assert assignee.job(service.service_id, call_id).status_code == 200
            assert other.job(service.service_id, call_id).status_code == 404
    finally:
        first.stop()
        second.stop()


def test_snapshot_and_branch_jobs_run_on_chain(operator: OperatorProcess, service: Service) -> None:
    operator.start()
    bob = Keypair.create_from_uri("//Bob")
    with client(service) as user, ChainClient(service.url) as connection:
        chain = ServicesClient(connection)

        def call(job: JobRequest) -> VerifiedResult:
            call_id = chain.submit_job_call(bob, service.service_id, job.JOB, encode_job_args(job))
            return user.wait_for_result(call_id, timeout=120)

        started = user.wait_for_result(
            user.submit_job(code="x = 41", language="python", mode="persistent"), timeout=120
        )
        instance_id = started.reference
        assert instance_id.startswith("inst_")
        snapshot = call(SnapshotCreateJob(instance_id=instance_id))
        assert snapshot.status == "completed" and snapshot.reference.startswith("snap_")
        branch = call(BranchCreateJob(snapshot_id=snapshot.reference, name="experiment"))
        assert branch.reference.startswith("branch_")
        restored = call(SnapshotRestoreJob(snapshot_id=snapshot.reference))
        assert restored.reference.startswith("inst_") and restored.reference != instance_id
        # Code run on top of the snapshot sees its state (the same caller: snapshots are per account).
        again = user.wait_for_result(
            user.submit_job(
                code="print(x + 1)", language="python", mode="checkpointed", snapshot_id=snapshot.reference
            ),
            timeout=120,
        )
        assert again.stdout == "42\n" and again.reference.startswith("snap_")
        missing = call(SnapshotRestoreJob(snapshot_id="snap_missing"))
        assert missing.status == "failed" and missing.reference == "NOT_FOUND"
