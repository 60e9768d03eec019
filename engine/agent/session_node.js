// Node.js session runner: one long-lived context whose globals persist across requests.
//
// PID 1 of a persistent (checkpointable) sandbox (no dependencies). It announces `ready`,
// then serves requests from stdin one at a time, with the same frames as the Python runner
// (session_python.py): `exec` -> `output`* [`truncated`] `exit` (with `id`, `timed_out`),
// `ping` -> `pong`.
//
// An `exec` request may carry `files` ({relative path: base64}) and `env` ({name: value}):
// before the cell runs, the files are written under the directory the runner started in
// (paths that stay inside it, never through a symbolic link) and `env` is set in
// process.env, where it stays for later cells (as a notebook's %env). A request whose files
// or env are refused runs nothing: a message on stderr and exit code 1.
//
// Each cell runs with vm.runInContext in ONE context created at start-up, so top-level
// `var`, `let`, `const`, functions and classes persist. The completion value is echoed as
// the REPL does (util.inspect, unless undefined); when it is a promise it is awaited first,
// so `(async () => {...})()` runs async code inside the cell's deadline. A timeout stops
// synchronous code (vm `timeout`) or stops waiting for the promise; the session lives on.
//
// Captured per request: console.*, process.stdout/stderr writes, and uncaught errors of
// timers and promises that surface while the cell runs. fd 0 and fd 1 are /dev/null for
// everything the user runs: child processes that inherit stdio cannot read the requests or
// corrupt the frames, and their inherited stdout is discarded (their stderr reaches the
// container's log); use the return value of execSync / spawnSync or stdio 'pipe' instead.
'use strict';
const fs = require('fs');
const Module = require('module');
const net = require('net');
const path = require('path');
const util = require('util');
const vm = require('vm');

const DEFAULT_OUTPUT_LIMIT = 1024 * 1024;
const WORKDIR = process.cwd();

// The channel: private handles on the original stdin/stdout, then fds 0 and 1 -> /dev/null.
const framesFd = fs.openSync('/proc/self/fd/1', 'w');
const requestsFd = fs.openSync('/proc/self/fd/0', 'r');
for (const [fd, flags] of [[0, 'r'], [1, 'w']]) {
  fs.closeSync(fd);
  if (fs.openSync('/dev/null', flags) !== fd) throw new Error(`cannot put /dev/null on fd ${fd}`);
}

function send(frame) {
  const data = Buffer.from(JSON.stringify(frame) + '\n');
  let written = 0;
  while (written < data.length) written += fs.writeSync(framesFd, data, written);
}

// The request being served; its output goes out as frames, up to its limit.
let current = null;

function capture(stream, chunk, encoding) {
  if (current === null) return;
  let data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), typeof encoding === 'string' ? encoding : 'utf8');
  const room = current.limit - current.forwarded[stream];
  if (data.length > room) {
    data = data.subarray(0, Math.max(room, 0));
    if (!current.truncated[stream]) {
      current.truncated[stream] = true;
      send({ type: 'truncated', id: current.id, phase: 'run', stream });
    }
  }
  if (data.length > 0) {
    current.forwarded[stream] += data.length;
    send({ type: 'output', id: current.id, phase: 'run', stream, data: data.toString('base64') });
  }
}

for (const stream of ['stdout', 'stderr']) {
  process[stream].write = (chunk, encoding, callback) => {
    capture(stream, chunk, encoding);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
}

// The same rules as workdir.py's write_files: relative, no `.`/`..`/empty parts, no symbolic links on the way.
function pathParts(relative) {
  const parts = relative.replace(/\\/g, '/').split('/');
  if (relative.startsWith('/') || relative.includes('\0') || parts.some((part) => ['', '.', '..'].includes(part))) {
    throw new Error(`invalid file path ${JSON.stringify(relative)}: it must be relative and stay inside the workspace`);
  }
  return parts;
}

function writeConfined(relative, parts, data) {
  const refuse = (why) => new Error(`refusing to write ${JSON.stringify(relative)}: ${why}`);
  let directory = WORKDIR;
  for (const name of parts.slice(0, -1)) {
    directory = path.join(directory, name);
    try {
      fs.mkdirSync(directory);
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    if (!fs.lstatSync(directory).isDirectory()) throw refuse('it runs through a symbolic link or a file');
  }
  const { O_WRONLY, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  let fd;
  try {
    fd = fs.openSync(path.join(directory, parts.at(-1)), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o666);
  } catch (error) {
    if (error.code === 'ELOOP') throw refuse('it runs through a symbolic link or a file');
    throw error;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw refuse('it is not a regular file');
    fs.ftruncateSync(fd);
    let written = 0;
    while (written < data.length) written += fs.writeSync(fd, data, written);
  } finally {
    fs.closeSync(fd);
  }
}

function prepare(request) {
  const env = request.env || {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'string' || !name || name.includes('=') || (name + value).includes('\0')) {
      throw new Error(`invalid environment variable ${JSON.stringify(name)}`);
    }
  }
  const files = Object.entries(request.files || {}).map(([relative, data]) => [relative, pathParts(relative), data]);
  for (const [relative, parts, data] of files) writeConfined(relative, parts, Buffer.from(data, 'base64'));
  Object.assign(process.env, env);
}

function prepared(request) {
  try {
    prepare(request);
    return true;
  } catch (error) {
    process.stderr.write(`request refused: ${error.message}\n`);
    return false;
  }
}

function report(error) {
  const text = error instanceof Error || (error && typeof error.stack === 'string') ? userStack(error) : `Uncaught ${util.inspect(error)}`;
  process.stderr.write(text + '\n');
}
process.on('uncaughtException', report);
process.on('unhandledRejection', report);

// The stack from the cell's frames on: the runner's own frames and node:vm's are cut off.
function userStack(error) {
  const lines = String(error.stack).split('\n');
  const cut = lines.findIndex((line) => line.includes('node:vm') || line.includes(__filename));
  return (cut > 0 ? lines.slice(0, cut) : lines).join('\n');
}

const cellRequire = Module.createRequire(path.join(WORKDIR, '<session>'));
const context = vm.createContext({
  console: new console.Console({ stdout: process.stdout, stderr: process.stderr }),
  process, Buffer, require: cellRequire, module: { exports: {} },
  __filename: path.join(WORKDIR, '<session>'), __dirname: WORKDIR,
  setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate, queueMicrotask,
  structuredClone, URL, URLSearchParams, TextEncoder, TextDecoder, AbortController, AbortSignal,
  atob, btoa, performance, fetch: globalThis.fetch,
});
vm.runInContext('globalThis.global = globalThis; var exports = module.exports;', context);

let cells = 0;

class TimedOut extends Error {}

function withDeadline(promise, deadline) {
  if (deadline === null) return promise;
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut()), Math.max(deadline - Date.now(), 0));
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

async function runCell(request) {
  cells += 1;
  const timeoutMs = typeof request.timeout_ms === 'number' ? Math.max(1, Math.floor(request.timeout_ms)) : null;
  const deadline = timeoutMs === null ? null : Date.now() + timeoutMs;
  try {
    const options = { filename: `cell ${cells}`, displayErrors: false };
    if (timeoutMs !== null) options.timeout = timeoutMs;
    let value = vm.runInContext(String(request.code), context, options);
    if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
      value = await withDeadline(Promise.resolve(value), deadline);
    }
    if (value !== undefined) process.stdout.write(util.inspect(value, { colors: false }) + '\n');
    return { code: 0, timedOut: false };
  } catch (error) {
    const timedOut = error instanceof TimedOut || (error && error.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT');
    if (timedOut) {
      process.stderr.write(`TimeoutError: cell ${cells} exceeded its time limit of ${timeoutMs} ms\n`);
    } else {
      report(error);
    }
    return { code: 1, timedOut };
  }
}

async function serveExec(request) {
  const limit = Number.isInteger(request.output_limit) && request.output_limit >= 0 ? request.output_limit : DEFAULT_OUTPUT_LIMIT;
  current = { id: request.id, limit, forwarded: { stdout: 0, stderr: 0 }, truncated: { stdout: false, stderr: false } };
  const { code, timedOut } = prepared(request) ? await runCell(request) : { code: 1, timedOut: false };
  const truncated = current.truncated.stdout || current.truncated.stderr;
  current = null;
  send({ type: 'exit', id: request.id, phase: 'run', exit_code: code, truncated, timed_out: timedOut });
}

// Requests are served strictly one after another, in arrival order.
const queue = [];
let busy = false;

async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const line = queue.shift();
    let request;
    try {
      request = JSON.parse(line);
    } catch (error) {
      send({ type: 'fatal', message: `malformed request: ${error.message}` });
      continue;
    }
    if (request.type === 'exec') await serveExec(request);
    else if (request.type === 'ping') send({ type: 'pong', id: request.id });
    else send({ type: 'fatal', id: request.id, message: `unknown request ${JSON.stringify(request.type)}` });
  }
  busy = false;
  if (ended) process.exit(0);
}

let pending = '';
let ended = false; // the host closed stdin: finish what was asked, then leave
const requests = new net.Socket({ fd: requestsFd, readable: true, writable: false });
requests.setEncoding('utf8');
requests.on('data', (text) => {
  pending += text;
  let newline;
  while ((newline = pending.indexOf('\n')) >= 0) {
    queue.push(pending.slice(0, newline));
    pending = pending.slice(newline + 1);
  }
  drain();
});
requests.on('end', () => {
  ended = true;
  if (!busy) process.exit(0);
});

send({ type: 'ready' });
