// Pre-started Node.js: waits for its one program, then runs it as the main module.
//
// Started by the agent when the sandbox joins the warm pool, so the user's program
// does not pay for Node's start-up. It runs exactly one program, with the environment,
// working directory and argv that `node main.js` would have.
'use strict';
const fs = require('fs');
const Module = require('module');
const path = require('path');

const bytes = [];
const one = Buffer.alloc(1);
for (;;) {
  // Byte by byte from fd 0: everything after the newline is the program's stdin.
  if (fs.readSync(0, one, 0, 1, null) === 0) process.exit(0);
  if (one[0] === 10) break;
  bytes.push(one[0]);
}
const go = JSON.parse(Buffer.from(bytes).toString('utf8'));
for (const name of Object.keys(process.env)) delete process.env[name];
Object.assign(process.env, go.env);
process.chdir(go.cwd);
process.argv[1] = path.resolve(go.cwd, go.main);
Module.runMain();
