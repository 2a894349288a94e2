// Mautic's script API on the built files: the mt() callbacks, the MauticJS global, the
// mauticPageEventDelivered event, and Mautic 7's split (essential first, tracking after
// consent). Each test runs the built scripts in a fresh vm context that plays the window.
// Run `npm run build` first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { installFakes, settle, granted, none } from './fakes.mjs';

const TRACKING = readFileSync(new URL('../dist/mtc.min.js', import.meta.url), 'utf8');
const ESSENTIAL = readFileSync(new URL('../dist/mautic-essential.min.js', import.meta.url), 'utf8');

// The classic embed snippet, as Mautic's tracking settings hand it out.
const SNIPPET = `(function(w,d,t,u,n,a,m){w['MauticTrackingObject']=n;
 w[n]=w[n]||function(){(w[n].q=w[n].q||[]).push(arguments)},a=d.createElement(t),
 m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
})(window,document,'script','https://t.example.com/mtc.js','mt');`;

/** A window whose document dispatches events; `events` records every one dispatched. */
function browser(src = 'https://t.example.com/mtc.js') {
  const window = vm.createContext({ setTimeout, crypto: globalThis.crypto });
  window.window = window;
  const fake = installFakes(window, { src });
  const listeners = {};
  const events = [];
  Object.assign(fake.document, {
    readyState: 'complete',
    addEventListener: (name, f) => (listeners[name] = listeners[name] || []).push(f),
    dispatchEvent: (event) => {
      events.push(event);
      for (const f of listeners[event.type] || []) f(event);
      return true;
    },
  });
  window.CustomEvent = class CustomEvent {
    constructor(type, init) {
      this.type = type;
      this.detail = init && init.detail;
    }
  };
  const run = (code) => vm.runInContext(code, window);
  return { window, fake, run, events };
}

test('onload runs after a successful reply and onerror after a failure, in order', async () => {
  const { fake, run, window } = browser();
  run(SNIPPET);
  run(`
    window.seen = [];
    mt('send', 'pageview', { page_title: 'One' }, {
      onload: function (detail) { seen.push('load:' + detail.params.page_title + ':' + detail.response.consent); },
      onerror: function () { seen.push('error:One'); },
    });
    mt('send', 'pageview', { page_title: 'Two' }, {
      onload: function () { seen.push('load:Two'); },
      onerror: function (detail) { seen.push('error:' + detail.params.page_title); },
    });
  `);
  run(TRACKING);
  await settle();
  assert.deepEqual([...window.seen], [], 'nothing runs before the server answered');
  assert.equal(fake.calls.length, 1);
  fake.calls[0].reply(none);
  await settle();
  assert.deepEqual([...window.seen], ['load:One:none']);

  // The second request fails on the network, is retried once after a second, and fails again.
  fake.calls[1].fail();
  await new Promise((resume) => setTimeout(resume, 1100));
  await settle();
  fake.calls[2].fail();
  await settle();
  assert.deepEqual([...window.seen], ['load:One:none', 'error:Two']);
  assert.deepEqual(fake.touches, []);
});

test('a refused request (an error reply) calls onerror, never onload', async () => {
  const { fake, run, window } = browser();
  run(SNIPPET);
  run(TRACKING);
  run(`window.seen = []; mt('send', 'pageview', {}, { onload: function () { seen.push('load'); }, onerror: function (d) { seen.push('error'); } });`);
  await settle();
  fake.calls[0].refuse(403, { error: 'site_not_tracked', origin: 'https://shop.example', hint: 'not tracked', consent: 'none', counted: false, reason: 'site_not_tracked' });
  await settle();
  assert.deepEqual([...window.seen], ['error']);
});

test('a delivered pageview dispatches mauticPageEventDelivered with Mautic detail shape', async () => {
  const { fake, run, events, window } = browser();
  run(SNIPPET);
  run(`mt('send', 'pageview', { utm_source: 'news' });`);
  run(TRACKING);
  run(`window.firsts = []; MauticJS.onFirstEventDelivery(function (d) { firsts.push(d.params.utm_source); });`);
  await settle();
  fake.calls[0].reply(granted);
  await settle();
  const delivered = events.filter((e) => e.type == 'mauticPageEventDelivered');
  assert.equal(delivered.length, 1);
  const { detail } = delivered[0];
  assert.equal(JSON.stringify(detail.event), JSON.stringify(['send', 'pageview', { utm_source: 'news' }]));
  assert.equal(detail.params.type, 'pageview');
  assert.equal(detail.params.utm_source, 'news');
  assert.deepEqual({ ...detail.response }, granted);
  assert.deepEqual([...window.firsts], ['news']);
  // A consent command is no pageview: no delivery event for it.
  run(`mt('consent', 'grant')`);
  await settle();
  fake.calls[1].reply(granted);
  await settle();
  assert.equal(events.filter((e) => e.type == 'mauticPageEventDelivered').length, 1);
});

test('MauticJS has the documented helpers, and none that writes the host site storage', () => {
  const { run, fake } = browser('https://t.example.com/mautic-essential.js');
  run(ESSENTIAL);
  assert.equal(run(`MauticJS.serialize({firstname: 'John', lastname: 'Doe & co'})`), 'firstname=John&lastname=Doe%20%26%20co');
  assert.equal(run(`MauticJS.serialize('a=b')`), 'a=b');
  assert.deepEqual({ ...run(`MauticJS.parseTextToJSON('{"a": 1}')`) }, { a: 1 });
  assert.equal(run(`MauticJS.parseTextToJSON('not json')`), 'not json');
  assert.deepEqual([...run(`var out = []; MauticJS.iterateCollection(['x', 'y'])(function (n, i) { out.push(n + i); }); out`)], ['x0', 'y1']);
  assert.equal(run(`var ran = 0; MauticJS.documentReady(function () { ran++; }); ran`), 1);
  assert.match(run(`MauticJS.guid()`), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.deepEqual({ ...run(`MauticJS.appendTrackedContact({a: 1})`) }, { a: 1 });
  run(`MauticJS.setTrackedContact({id: 7, device_id: 'abc'})`);
  assert.equal(run(`typeof MauticJS.setCookie`), 'undefined');
  assert.equal(run(`MauticJS.runtimeReady`), true);
  assert.equal(run(`MauticJS.trackingEnabled`), false);
  assert.equal(run(`MauticJS.requestWithCredentials`), false);
  assert.deepEqual(fake.touches, [], 'the runtime touched storage');
});

test('essential makes no request; the tracking add-on then enables tracking on the same runtime', async () => {
  const { fake, run, events } = browser('https://t.example.com/mautic-essential.js');
  run(ESSENTIAL);
  await settle();
  assert.equal(fake.calls.length, 0, 'essential sent something');
  run(`window.runtime = MauticJS; MauticJS.dispatchEvent('mauticEssentialReady')`);
  assert.equal(events.filter((e) => e.type == 'mautic:tracking-enabled').length, 0);

  fake.document.currentScript = { src: 'https://t.example.com/mautic-tracking.js' };
  run(`window.MauticTrackingObject = 'mt'; window.mt = function () { (mt.q = mt.q || []).push(arguments); }; mt('send', 'pageview');`);
  run(TRACKING);
  await settle();
  assert.equal(run(`MauticJS === runtime`), true);
  assert.equal(run(`MauticJS.trackingEnabled`), true);
  assert.equal(run(`MauticJS.requestWithCredentials`), true);
  assert.equal(events.filter((e) => e.type == 'mautic:tracking-enabled').length, 1);
  assert.equal(fake.calls.length, 1);
  assert.equal(fake.calls[0].url, 'https://t.example.com/mtc/event');
  fake.calls[0].reply(none);
  await settle();
  assert.deepEqual(fake.touches, []);
});

test('the built scripts contain no storage API and read no identity from the page', () => {
  for (const [file, source] of [['mtc.min.js', TRACKING], ['mautic-essential.min.js', ESSENTIAL]]) {
    assert.doesNotMatch(source, /\.cookie\b|cookieStore|localStorage|sessionStorage|indexedDB|openDatabase|caches/, file);
    assert.doesNotMatch(source, /mtc_id|mautic_device_id|email/i, file);
  }
  assert.doesNotMatch(ESSENTIAL, /mtc\/event|mtracking\.gif|fetch\(/, 'essential can send no tracking request');
});
