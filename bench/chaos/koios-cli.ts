import { runCli } from '../../src/cli/main.js';

// The `koios` command from source, so a chaos run exercises the code as it is, not a stale dist/.
const code = await runCli(process.argv.slice(2));
if (code !== 0) process.exitCode = code;
