#!/usr/bin/env node
// The `archivist` command. In a checkout of the repository it runs the TypeScript sources
// through Node's type stripping (Node >= 22.18; `npm ci` puts Node 24 in node_modules/.bin,
// which `npx archivist` and `npm start` use); in the installed package, which ships no
// sources, it runs the JavaScript compiled into dist/ (Node >= 22.15: node:sqlite, and
// zlib's zstd for the HTTP client under Helia).
// This file is plain JavaScript that any Node parses, so an older Node gets one line
// saying what is needed instead of a stack trace.
//
// Node's on-disk compile cache (in the OS temp dir) spares later runs compiling the
// modules again; it is enabled before the CLI's modules load, hence the dynamic import.
import { existsSync } from 'node:fs';
import module from 'node:module';

const source = new URL('../cli/main.ts', import.meta.url);
const fromSource = existsSync(source);
const [needMajor, needMinor] = fromSource ? [22, 18] : [22, 15];
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < needMajor || (major === needMajor && minor < needMinor)) {
  const hint = fromSource ? '; in this checkout `npx archivist` runs the Node that `npm ci` installed' : '';
  process.stderr.write(
    `archivist: needs Node.js >= ${needMajor}.${needMinor}, this is ${process.version}${hint}\n`,
  );
  process.exit(2);
}

module.enableCompileCache?.();
const { main } = await import(fromSource ? source.href : '../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
