#!/usr/bin/env node
// The `koios` command: runs the compiled CLI (`npm install` builds it; see README).
import { runCli } from '../dist/cli/main.js';

const code = await runCli(process.argv.slice(2));
if (code !== 0) process.exitCode = code;
