from engine import Resources
from service.cache_keys import execution_cache_key
from service.config import Settings
from service.pricing import execution_cost, memory_gb_seconds


def test_cost_is_cpu_seconds_plus_memory_gb_seconds_at_configured_prices() -> None:
    settings = Settings(price_per_cpu_second=0.5, price_per_memory_gb_second=0.25)
    assert memory_gb_seconds(2 * 1024**3, 1500) == 3.0
    cost = execution_cost(2.0, 3.0, settings)
    assert cost.compute == cost.total == 1.75


def key(**overrides: object) -> str:
    values: dict[str, object] = {
        "language": "python",
        "code": "print(1)",
        "files": {"a": b"1"},
        "env": {"X": "1"},
        "stdin": None,
        "resources": Resources(),
        "image_id": "sha256:abc",
    }
    values.update(overrides)
    return execution_cache_key(**values)  # type: ignore[arg-type]


def test_cache_key_covers_everything_that_determines_the_result() -> None:
    base = key()
    assert base == key()
    changed = [
        key(language="javascript"),
        key(code="print(2)"),
        key(files={"a": b"2"}),
        key(env={"X": "2"}),
        key(stdin="in"),
        key(resources=Resources(memory_mb=256)),
        key(image_id="sha256:def"),
    ]
    assert base not in changed and len(set(changed)) == len(changed)
