#!/usr/bin/env node
// The CLI is TypeScript run by Node's own type stripping (Node >= 22.18), so there is no build step.
// Node's on-disk compile cache (in the OS temp dir) spares later runs compiling the
// modules again; it is enabled before the CLI's modules load, hence the dynamic import.
import module from 'node:module';

module.enableCompileCache?.();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
