"""POST /api/v1/execute against a real Docker engine: languages, inputs, modes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from service import Node
from tests.conftest import KEY_B, b64, run, run_ok

HELLO = {
    "python": "print('Hello World')",
    "javascript": "console.log('Hello World')",
    "go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("Hello World") }\n',
    "rust": 'fn main() { println!("Hello World"); }\n',
}


@pytest.mark.parametrize("language", list(HELLO))
async def test_hello_world_in_every_language(client: httpx.AsyncClient, language: str) -> None:
    body = await run_ok(client, HELLO[language], language)
    assert body["status"] == "completed"
    assert body["exit_code"] == 0
    assert body["stdout"] == "Hello World\n"
    assert body["stderr"] == ""
    assert body["execution_id"].startswith("exec_")
    assert body["mode"] == "ephemeral" and body["cached"] is False and body["language"] == language
    assert body["duration_ms"] > 0
    assert body["cost"]["total"] == body["cost"]["compute"] > 0
    assert body["usage"]["cpu_seconds"] > 0


async def test_response_has_every_field_of_the_contract(client: httpx.AsyncClient) -> None:
    body = await run_ok(client, "print(1)")
    contract = {"execution_id", "status", "exit_code", "stdout", "stderr", "duration_ms", "mode", "cached", "cost"}
    assert contract <= set(body)
    assert set(body["cost"]) == {"compute", "total"}


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("python", "import os,sys\nprint(open('data/in.txt').read(), os.environ['GREETING'], sys.stdin.read())"),
        (
            "javascript",
            "const fs=require('fs');console.log(fs.readFileSync('data/in.txt','utf8'),process.env.GREETING,"
            "fs.readFileSync(0,'utf8'))",
        ),
        (
            "go",
            'package main\nimport ("fmt";"io";"os")\nfunc main(){b,_:=os.ReadFile("data/in.txt");'
            's,_:=io.ReadAll(os.Stdin);fmt.Println(string(b),os.Getenv("GREETING"),string(s))}\n',
        ),
        (
            "rust",
            'use std::io::Read;\nfn main(){let f=std::fs::read_to_string("data/in.txt").unwrap();'
            "let mut s=String::new();std::io::stdin().read_to_string(&mut s).unwrap();"
            'println!("{} {} {}",f,std::env::var("GREETING").unwrap(),s);}\n',
        ),
    ],
)
async def test_files_env_vars_and_stdin_reach_the_program(client: httpx.AsyncClient, language: str, code: str) -> None:
    body = await run_ok(
        client, code, language, files={"data/in.txt": b64("file!")}, env_vars={"GREETING": "hi"}, stdin="typed"
    )
    assert body["status"] == "completed", body
    assert body["stdout"] == "file! hi typed\n"


@pytest.mark.parametrize(
    ("language", "code", "message"),
    [
        ("go", "package main\nfunc main() { undefined_call() }\n", "undefined: undefined_call"),
        ("rust", 'fn main() { let x: i32 = "nope"; }\n', "mismatched types"),
    ],
)
async def test_compile_errors_come_back_as_failed_with_compiler_stderr(
    client: httpx.AsyncClient, language: str, code: str, message: str
) -> None:
    body = await run_ok(client, code, language)
    assert body["status"] == "failed"
    assert body["exit_code"] != 0
    assert message in body["stderr"]
    assert body["error"] == "compilation failed"


@pytest.mark.parametrize("language", ["go", "rust"])
async def test_compiled_artefacts_are_reused_by_source_hash(client: httpx.AsyncClient, language: str) -> None:
    marker = f"artefact-{language}-{id(client)}"
    code = HELLO[language].replace("Hello World", marker)
    first = await run_ok(client, code, language)
    second = await run_ok(client, code, language)
    assert first["stdout"] == second["stdout"] == f"{marker}\n"
    assert first["build_cached"] is False
    assert second["build_cached"] is True


async def test_program_exit_code_is_reported(client: httpx.AsyncClient) -> None:
    body = await run_ok(client, "import sys\nprint('bye')\nsys.exit(3)")
    assert (body["status"], body["exit_code"], body["stdout"]) == ("failed", 3, "bye\n")


async def test_cached_mode_returns_the_stored_result_without_running(client: httpx.AsyncClient, node: Node) -> None:
    code = f"import random\nprint(random.random())  # {id(node)}"
    first = await run_ok(client, code, mode="cached")
    second = await run_ok(client, code, mode="cached")
    assert first["cached"] is False and second["cached"] is True
    assert second["stdout"] == first["stdout"]  # a second real run would print another number
    assert second["cached_from"] == first["execution_id"]
    assert second["execution_id"] != first["execution_id"]
    assert second["cost"] == {"compute": 0.0, "total": 0.0}
    different_stdin = await run_ok(client, code, mode="cached", stdin="x")
    assert different_stdin["cached"] is False


async def test_cached_results_are_per_tenant(client: httpx.AsyncClient) -> None:
    code = f"print('tenant cache {id(client)}')"
    await run_ok(client, code, mode="cached")
    other = await client.post(
        "/api/v1/execute",
        json={"code": code, "language": "python", "mode": "cached"},
        headers={"Authorization": f"Bearer {KEY_B}"},
    )
    assert other.json()["cached"] is False


async def test_timeouts_are_not_cached(client: httpx.AsyncClient) -> None:
    code = f"import time\ntime.sleep(5)  # {id(client)}"
    for _ in range(2):
        response = await run(client, code, mode="cached", resources={"timeout_ms": 300})
        assert response.status_code == 408


async def test_stored_execution_is_readable_by_its_tenant_only(client: httpx.AsyncClient) -> None:
    body = await run_ok(client, "print('stored')")
    stored = await client.get(f"/api/v1/executions/{body['execution_id']}")
    assert stored.status_code == 200
    assert stored.json() == body
    other = await client.get(f"/api/v1/executions/{body['execution_id']}", headers={"Authorization": f"Bearer {KEY_B}"})
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "NOT_FOUND"


async def test_ten_concurrent_executions_all_complete(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(run(client, f"print({i} * {i})") for i in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert sorted(int(r.json()["stdout"]) for r in responses) == sorted(i * i for i in range(10))
    assert len({r.json()["execution_id"] for r in responses}) == 10


async def test_interpreter_start_up_variables_are_honoured(client: httpx.AsyncClient) -> None:
    # PYTHON*/NODE_* variables shape interpreter start-up, so these runs use a cold interpreter.
    body = await run_ok(client, "import sys\nprint(sys.flags.optimize)", env_vars={"PYTHONOPTIMIZE": "2"})
    assert body["stdout"] == "2\n"
    body = await run_ok(client, "console.log(process.execArgv.length, 1)", "javascript", env_vars={"NODE_OPTIONS": ""})
    assert body["stdout"] == "0 1\n"


async def test_python_program_sees_a_normal_main_module(client: httpx.AsyncClient) -> None:
    code = "import sys, os\nprint(__name__, sys.argv, os.getcwd(), sys.path[0], __file__)"
    body = await run_ok(client, code)
    assert body["stdout"] == "__main__ ['main.py'] /workspace /workspace main.py\n"


async def test_uncaught_exception_traceback_is_the_users(client: httpx.AsyncClient) -> None:
    body = await run_ok(client, "def f():\n    raise ValueError('boom')\nf()")
    assert body["exit_code"] == 1 and body["status"] == "failed"
    assert 'File "main.py", line 2, in f' in body["stderr"]
    assert "runpy" not in body["stderr"] and "faas-agent" not in body["stderr"]
