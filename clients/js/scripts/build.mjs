// Builds dist/ with esbuild; `tsc -p tsconfig.types.json` adds the declarations afterwards.
//   dist/mtc.min.js              runtime + tracking (served as /mtc.js and /mautic-tracking.js)
//   dist/mautic-essential.min.js the MauticJS runtime alone, for before consent
//                                (served as /mautic-essential.js)
//   dist/index.js                the ESM API
//   dist/consent/{name}.js       one bridge to a site's consent banner each (src/bridges/),
//                                served as /mtc-consent/{name}.js and loaded only when the page
//                                names it, so the core does not grow with them
// Fails if a script build reaches its size budget (bytes gzipped). mtc.min.js grew from 2048
// to 3072 when it took on the MauticJS runtime that Mautic's integrators call.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BRIDGES = ['gcm', 'tcf', 'gpp', 'cookiebot', 'onetrust', 'usercentrics', 'klaro', 'cookieconsent', 'auto'];
const BUDGETS = {
  // The MauticJS runtime, the tracker, and the loaders of the on-demand parts (a consent
  // banner's bridge, the dynamic-content filler), which stay out of it.
  'dist/mtc.min.js': 3136,
  'dist/mautic-essential.min.js': 1536,
  'dist/dwc.min.js': 1536,
};
for (const name of BRIDGES) BUDGETS[`dist/consent/${name}.js`] = name == 'auto' ? 4096 : 1024;
const target = ['es2020'];
const banner = '/*! @consentry/tracker | AGPL-3.0-or-later */';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');

const iife = (entry, outfile) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'iife',
    minify: true,
    target,
    legalComments: 'inline',
    banner: { js: banner },
  });

await iife('src/snippet.ts', 'dist/mtc.min.js');
await iife('src/essential.ts', 'dist/mautic-essential.min.js');
await iife('src/dwc-entry.ts', 'dist/dwc.min.js');

mkdirSync('dist/consent');
for (const name of BRIDGES) {
  await build({
    stdin: {
      contents: `import { install } from './kit.js'; import { ${name} } from './${name}.js'; install('${name}', ${name});`,
      resolveDir: 'src/bridges',
      loader: 'ts',
    },
    outfile: `dist/consent/${name}.js`,
    bundle: true,
    format: 'iife',
    minify: true,
    target,
    legalComments: 'inline',
    banner: { js: banner },
  });
}

await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  format: 'esm',
  target,
  banner: { js: banner },
});

let over = false;
for (const [file, budget] of Object.entries(BUDGETS)) {
  const body = readFileSync(file);
  const gzipped = gzipSync(body, { level: 9 }).length;
  console.log(`${file}: ${body.length} bytes, ${gzipped} bytes gzipped (budget ${budget})`);
  if (gzipped >= budget) {
    console.error(`${file} is over its size budget`);
    over = true;
  }
}
if (over) process.exit(1);
