/** The tar archives of the instance file API: what packFiles writes, unpackFiles (and GNU tar) read back. */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { packFiles, unpackFiles, SDK_VERSION } from "../src/index.js";

const LONG = `${"deep/".repeat(30)}file.txt`;

test("packed files unpack to the same bytes, long paths included", () => {
  const binary = new Uint8Array([0, 1, 2, 255]);
  const archive = packFiles({ "a.txt": "héllo\n", "dir/b.bin": binary, [LONG]: "x".repeat(1000) });
  assert.equal(archive.length % 512, 0);
  const files = unpackFiles(archive);
  assert.deepEqual(Object.keys(files).sort(), ["a.txt", "dir/b.bin", LONG].sort());
  assert.equal(new TextDecoder().decode(files["a.txt"]), "héllo\n");
  assert.deepEqual(files["dir/b.bin"], binary);
  assert.equal(files[LONG]?.length, 1000);
});

test("GNU tar extracts what packFiles wrote, and unpackFiles reads what GNU tar writes", () => {
  const dir = mkdtempSync(join(tmpdir(), "sdk-tar-"));
  try {
    writeFileSync(join(dir, "ours.tar"), packFiles({ "x/y.txt": "why\n", [LONG]: "long\n" }));
    mkdirSync(join(dir, "out"));
    execFileSync("tar", ["-xf", join(dir, "ours.tar"), "-C", join(dir, "out")]);
    assert.equal(readFileSync(join(dir, "out", "x", "y.txt"), "utf8"), "why\n");
    assert.equal(readFileSync(join(dir, "out", LONG), "utf8"), "long\n");
    execFileSync("tar", ["--format=pax", "-cf", join(dir, "theirs.tar"), "-C", join(dir, "out"), "x", "deep"]);
    const files = unpackFiles(readFileSync(join(dir, "theirs.tar")));
    assert.equal(new TextDecoder().decode(files["x/y.txt"]), "why\n");
    assert.equal(new TextDecoder().decode(files[LONG]), "long\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("paths that climb out of the directory are refused", () => {
  assert.throws(() => packFiles({ "../etc/passwd": "x" }), RangeError);
});

test("the User-Agent's version is the package's", () => {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  assert.equal(SDK_VERSION, manifest.version);
});
