// Builds dist/ with esbuild; `tsc -p tsconfig.types.json` adds the declarations afterwards.
//   dist/mtc.min.js  the snippet's IIFE (served by the Consentry server as /mtc.js)
//   dist/index.js    the ESM API
// Fails if the snippet build reaches the size budget: 2048 bytes gzipped.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = 2048;
const target = ['es2020'];
const banner = '/*! @consentry/tracker | AGPL-3.0-or-later */';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');

await build({
  entryPoints: ['src/snippet.ts'],
  outfile: 'dist/mtc.min.js',
  bundle: true,
  format: 'iife',
  minify: true,
  target,
  legalComments: 'inline',
  banner: { js: banner },
});

await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  format: 'esm',
  target,
  banner: { js: banner },
});

const snippet = readFileSync('dist/mtc.min.js');
const gzipped = gzipSync(snippet, { level: 9 }).length;
console.log(`dist/mtc.min.js: ${snippet.length} bytes, ${gzipped} bytes gzipped (budget ${BUDGET})`);
if (gzipped >= BUDGET) {
  console.error('dist/mtc.min.js is over its size budget');
  process.exit(1);
}
