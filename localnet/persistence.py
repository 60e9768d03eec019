"""Durable chain storage in one SQLite file: blocks, head state and finality, one transaction per block."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from localnet.blocks import Block

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash BLOB NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (key BLOB PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS undo (number INTEGER NOT NULL, key BLOB NOT NULL, value BLOB);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteStore:
    """Blocks plus the latest state; each sealed block is committed atomically with its state changes."""

    def __init__(self, base_path: Path, keep_states: int = 256) -> None:
        self.keep_states = keep_states
        base_path.mkdir(parents=True, exist_ok=True)
        self.path = base_path / "chain.sqlite"
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def is_empty(self) -> bool:
        return int(self.db.execute("SELECT COUNT(*) FROM blocks").fetchone()[0]) == 0

    def init_genesis(self, block: Block, state: dict[bytes, bytes]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("INSERT INTO blocks VALUES (?, ?, ?)", (0, block.hash, json.dumps(block.to_record())))
            self.db.executemany("INSERT INTO state VALUES (?, ?)", list(state.items()))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('finalized', '0')")

    def save_block(
        self, block: Block, changes: dict[bytes, bytes | None], undo: dict[bytes, bytes | None], finalized: int
    ) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO blocks VALUES (?, ?, ?)", (block.number, block.hash, json.dumps(block.to_record()))
            )
            for key, value in changes.items():
                if value is None:
                    self.db.execute("DELETE FROM state WHERE key = ?", (key,))
                else:
                    self.db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, value))
            # The parent's values of the changed keys, to serve queries at recent blocks after a restart.
            self.db.executemany("INSERT INTO undo VALUES (?, ?, ?)", [(block.number, k, v) for k, v in undo.items()])
            self.db.execute("DELETE FROM undo WHERE number <= ?", (block.number - self.keep_states,))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('finalized', ?)", (str(finalized),))

    def save_finalized(self, finalized: int) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('finalized', ?)", (str(finalized),))

    def load(self) -> tuple[list[Block], dict[int, dict[bytes, bytes]], int]:
        """Blocks, the states of the most recent blocks (by number) and the finalized number."""
        rows = self.db.execute("SELECT record FROM blocks ORDER BY number").fetchall()
        blocks = [Block.from_record(json.loads(r[0])) for r in rows]
        state = {bytes(k): bytes(v) for k, v in self.db.execute("SELECT key, value FROM state")}
        finalized = int(self.db.execute("SELECT value FROM meta WHERE name = 'finalized'").fetchone()[0])
        head = blocks[-1].number
        states = {head: state}
        undo: dict[int, list[tuple[bytes, bytes | None]]] = {}
        for number, key, value in self.db.execute(
            "SELECT number, key, value FROM undo WHERE number > ?", (head - self.keep_states,)
        ):
            undo.setdefault(int(number), []).append((bytes(key), None if value is None else bytes(value)))
        for number in range(head, max(0, head - self.keep_states), -1):
            if number not in undo:
                break
            previous = dict(states[number])
            for key, value in undo[number]:
                if value is None:
                    previous.pop(key, None)
                else:
                    previous[key] = value
            states[number - 1] = previous
        return blocks, states, finalized

    def close(self) -> None:
        self.db.close()
