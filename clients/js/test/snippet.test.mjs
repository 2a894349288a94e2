// Tests of the snippet build (dist/mtc.min.js), run in a fresh vm context that plays the
// browser window, behind the unchanged classic embed snippet. Run `npm run build` first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { installFakes, settle, UUID_V4, granted, none } from './fakes.mjs';

const SCRIPT = readFileSync(new URL('../dist/mtc.min.js', import.meta.url), 'utf8');

// The embed snippet exactly as site owners have it (the URL and the global's name vary).
const snippet = (url, name) => `(function(w,d,t,u,n,a,m){w['MauticTrackingObject']=n;
 w[n]=w[n]||function(){(w[n].q=w[n].q||[]).push(arguments)},a=d.createElement(t),
 m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
})(window,document,'script','${url}','${name}');`;

/** A window with the snippet already run; `load()` then runs the tracker script in it. */
function browser({ src = 'https://t.example.com/mtc.js', currentScript = true, name = 'mt' } = {}) {
  const window = vm.createContext({ setTimeout, crypto: globalThis.crypto });
  window.window = window;
  const fake = installFakes(window, { src: currentScript ? src : null });
  vm.runInContext(snippet(src, name), window);
  const run = (code) => vm.runInContext(code, window);
  const load = () => {
    // Without currentScript, the tracker finds itself among the page's <script> tags.
    if (!currentScript) fake.document.scripts.push({ src }, { src: 'https://other.example/app.js' });
    run(SCRIPT);
  };
  return { window, fake, run, load };
}

test('calls queued before load run in order, then later calls as they come', async () => {
  const { fake, run, load, window } = browser();
  run(`
    window.replies = [];
    mt('onConsent', function (reply) { replies.push(reply.consent); });
    mt('consent', 'grant');
    mt('send', 'pageview', { utm_source: 'news' });
  `);
  assert.equal(fake.calls.length, 0, 'the stub only queues');
  load();
  await settle();

  assert.equal(fake.calls.length, 1, 'the pageview waits for the consent reply');
  assert.equal(fake.calls[0].url, 'https://t.example.com/mtc/event');
  assert.equal(fake.calls[0].body.type, 'consent');
  assert.equal(fake.calls[0].body.consent, 'grant');
  fake.calls[0].reply(granted);
  await settle();

  assert.equal(fake.calls.length, 2);
  assert.equal(fake.calls[1].body.type, 'pageview');
  assert.equal(fake.calls[1].body.utm_source, 'news');
  assert.match(fake.calls[1].body.id, UUID_V4);
  fake.calls[1].reply(granted);
  await settle();

  // After load, mt is the real dispatcher.
  assert.equal(run(`typeof mt.q`), 'undefined');
  run(`mt('optOut')`);
  await settle();
  assert.equal(fake.calls[2].body.consent, 'object');
  fake.calls[2].reply({ consent: 'objected', counted: false, reason: 'choice' });
  await settle();

  assert.deepEqual([...window.replies], ['granted', 'granted', 'objected']);
  assert.deepEqual(fake.touches, []);
});

test('the base URL is the origin and path prefix of the script src', async () => {
  const cases = [
    ['https://t.example.com/mtc.js', 'https://t.example.com/mtc/event'],
    ['https://example.com/consentry/mtc.js?v=3', 'https://example.com/consentry/mtc/event'],
  ];
  for (const currentScript of [true, false]) {
    for (const [src, endpoint] of cases) {
      const { fake, run, load } = browser({ src, currentScript });
      run(`mt('send', 'pageview')`);
      load();
      await settle();
      assert.equal(fake.calls[0].url, endpoint, `${src} (currentScript: ${currentScript})`);
      fake.calls[0].reply(none);
      await settle();
    }
  }
});

test('a custom global name, unknown commands, and loading twice', async () => {
  // The snippet's last argument names the global.
  const { fake, run, load, window } = browser({ name: 'tracker' });
  assert.equal(run(`typeof mt`), 'undefined');
  run(`tracker('dance'); tracker('send', 'pageview', { id: 'x', type: 'y', gpc: true });`);
  load();
  await settle();
  assert.equal(fake.warnings.length, 1);
  assert.equal(fake.calls.length, 1);
  assert.equal(fake.calls[0].body.type, 'pageview');
  assert.notEqual(fake.calls[0].body.id, 'x');
  assert.equal(fake.calls[0].body.gpc, false);
  fake.calls[0].reply(none);
  await settle();

  const first = window.tracker;
  load(); // the script included a second time must not take over or replay anything
  await settle();
  assert.equal(window.tracker, first);
  assert.equal(fake.calls.length, 1);
  assert.deepEqual(fake.touches, []);
});
