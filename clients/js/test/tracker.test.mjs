// Tests of the ESM build (dist/index.js) with fake browser globals. Run `npm run build` first.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { installFakes, settle, UUID_V4, granted, none } from './fakes.mjs';
import { createTracker } from '../dist/index.js';

const fake = installFakes(globalThis, { gpc: true });

afterEach(async () => {
  // Nothing may be left in flight between tests, and nothing may have touched storage.
  for (const call of fake.calls) call.reply(none);
  await settle();
  fake.calls.length = 0;
  fake.warnings.length = 0;
  assert.deepEqual(fake.touches, [], 'the tracker touched storage');
});

test('a pageview is a text/plain POST with the page context', async () => {
  const tracker = createTracker({ baseUrl: 'https://t.example.com/' });
  const done = tracker.send('pageview');
  await settle();
  assert.equal(fake.calls.length, 1);
  const [call] = fake.calls;
  assert.equal(call.url, 'https://t.example.com/mtc/event');
  assert.deepEqual(
    { ...call.init, body: undefined },
    {
      method: 'POST',
      credentials: 'include',
      keepalive: true,
      headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      body: undefined,
    },
  );
  assert.match(call.body.id, UUID_V4);
  assert.deepEqual(
    { ...call.body, id: undefined },
    {
      type: 'pageview',
      id: undefined,
      page_url: 'https://shop.example/sale?utm_source=news',
      page_title: 'Spring sale',
      page_referrer: 'https://search.example/?q=sale',
      page_language: 'fr-FR',
      resolution: '1920x1080',
      gpc: true,
    },
  );
  call.reply(none);
  assert.deepEqual(await done, none);
});

test('fields add to the pageview but cannot override type, id or gpc', async () => {
  const tracker = createTracker({ baseUrl: 'https://t.example.com' });
  tracker.command('send', 'pageview', {
    type: 'purchase',
    id: 'not-a-fresh-id',
    gpc: false,
    utm_campaign: 'spring',
    page_title: 'Custom title',
    plan: 'pro',
  });
  await settle();
  const { body } = fake.calls[0];
  assert.equal(body.type, 'pageview');
  assert.match(body.id, UUID_V4);
  assert.equal(body.gpc, true);
  assert.equal(body.utm_campaign, 'spring');
  assert.equal(body.page_title, 'Custom title');
  assert.equal(body.plan, 'pro');
});

test('a title cut inside an emoji or holding control characters is sent as text the server accepts', async () => {
  const tracker = createTracker({ baseUrl: 'https://t.example.com' });
  tracker.command('send', 'pageview', { page_title: 'Sale \ud83d \u0000end\ude00 \ud83d\ude00\tok' });
  await settle();
  const raw = fake.calls[0].init.body;
  assert.doesNotMatch(raw, /\\ud[89ab]|\\u0000/i, 'no lone surrogate or NUL escape on the wire');
  assert.equal(fake.calls[0].body.page_title, 'Sale \ufffd end\ufffd \ud83d\ude00\tok');
});

test('commands run strictly in order: grant is answered before the next pageview is sent', async () => {
  const tracker = createTracker({ baseUrl: 'https://t.example.com' });
  const log = [];
  tracker.onConsent((reply) => log.push('reply ' + reply.consent));
  const realFetch = globalThis.fetch;
  globalThis.fetch = (url, init) => {
    log.push('send ' + JSON.parse(init.body).type);
    return realFetch(url, init);
  };
  try {
    tracker.command('consent', 'grant');
    tracker.command('send', 'pageview', { step: 1 });
    tracker.command('send', 'pageview', { step: 2 });
    await settle();
    // Only the consent request is on the wire; the pageviews wait for its answer.
    assert.equal(fake.calls.length, 1);
    assert.deepEqual(fake.calls[0].body.consent, 'grant');

    fake.calls[0].reply(granted);
    await settle();
    assert.equal(fake.calls.length, 2);
    assert.equal(fake.calls[1].body.step, 1);

    fake.calls[1].reply(granted);
    await settle();
    assert.equal(fake.calls[2].body.step, 2);
    fake.calls[2].reply(granted);
    await settle();

    assert.deepEqual(log, [
      'send consent',
      'reply granted',
      'send pageview',
      'reply granted',
      'send pageview',
      'reply granted',
    ]);
  } finally {
    globalThis.fetch = realFetch;
  }
});

test('consent commands, aliases and optOut', async () => {
  const tracker = createTracker({ baseUrl: 'https://t.example.com' });
  tracker.command('consent', 'grant');
  tracker.command('consent', 'revoke');
  tracker.command('setCookieConsentGiven');
  tracker.command('forgetCookieConsentGiven');
  tracker.command('optOut');
  tracker.consent('grant');
  tracker.optOut();
  const sent = [];
  for (let i = 0; i < 7; i++) {
    await settle();
    const call = fake.calls[i];
    sent.push(call.body.consent);
    assert.equal(call.body.type, 'consent');
    assert.match(call.body.id, UUID_V4);
    assert.deepEqual(Object.keys(call.body).sort(), [
      'consent',
      'gpc',
      'id',
      'page_referrer',
      'page_title',
      'page_url',
      'type',
    ]);
    call.reply(none);
  }
  assert.deepEqual(sent, ['grant', 'revoke', 'grant', 'revoke', 'object', 'grant', 'object']);
  assert.equal(new Set(fake.calls.map((c) => c.body.id)).size, 7, 'ids are fresh per request');
});

test('unknown commands and bad arguments are ignored without throwing', async () => {
  const tracker = createTracker({ baseUrl: 'https://t.example.com' });
  assert.doesNotThrow(() => {
    tracker.command('track', 'click');
    tracker.command('send', 'event');
    tracker.command('consent', 'maybe');
    tracker.command('onConsent', 'not a function');
    tracker.command(Symbol('odd'));
    tracker.command();
  });
  await settle();
  assert.equal(fake.calls.length, 0);
  assert.equal(fake.warnings.length, 6);
});

test('a throwing onConsent callback does not stop the others or the queue', async () => {
  const tracker = createTracker({ baseUrl: 'https://t.example.com' });
  const seen = [];
  tracker.onConsent(() => {
    throw new Error('broken banner code');
  });
  tracker.onConsent((reply) => seen.push(reply));
  tracker.send('pageview');
  tracker.send('pageview');
  await settle();
  fake.calls[0].reply(granted);
  await settle();
  fake.calls[1].reply({ consent: 'objected', counted: false, reason: 'choice' });
  await settle();
  assert.deepEqual(seen, [granted, { consent: 'objected', counted: false, reason: 'choice' }]);
});

// What the server answers, with CORS headers so the page can read it, to a site it does not track.
const notTracked = {
  error: 'site_not_tracked',
  origin: 'https://shop.example',
  hint: 'https://shop.example is not tracked by this Consentry server: add it under Tracked sites in the admin',
  consent: 'none',
  counted: false,
  reason: 'site_not_tracked',
};

test('a site the server does not track is told once in the console, and onConsent still hears of it', async () => {
  const tracker = createTracker({ baseUrl: 'https://t.example.com' });
  const seen = [];
  tracker.onConsent((reply) => seen.push(reply.reason + ' ' + reply.counted));
  const pageview = tracker.send('pageview');
  const choice = tracker.consent('grant');
  await settle();
  fake.calls[0].refuse(403, notTracked);
  await settle();
  fake.calls[1].refuse(403, notTracked);
  assert.equal(await pageview, undefined, 'a refusal is no reply to resolve with');
  assert.equal(await choice, undefined);
  assert.deepEqual(seen, ['site_not_tracked false', 'site_not_tracked false']);
  assert.deepEqual(fake.warnings, ['[consentry] ' + notTracked.hint]);
});

test('an error reply without a consent state reaches no onConsent callback', async () => {
  const tracker = createTracker({ baseUrl: 'https://t.example.com' });
  const seen = [];
  tracker.onConsent((reply) => seen.push(reply));
  const done = tracker.send('pageview');
  await settle();
  fake.calls[0].refuse(429, { error: 'rate_limited', detail: 'too many events; slow down' });
  assert.equal(await done, undefined);
  assert.deepEqual(seen, []);
  assert.deepEqual(fake.warnings, []);
});

test('a network error is retried once after 1 s with the same id, then dropped', async () => {
  const tracker = createTracker({ baseUrl: 'https://t.example.com' });
  const started = Date.now();
  const done = tracker.send('pageview');
  await settle();
  fake.calls[0].fail();
  await settle();
  assert.equal(fake.calls.length, 1, 'no immediate retry');
  await new Promise((resume) => setTimeout(resume, 1100));
  await settle();
  assert.equal(fake.calls.length, 2);
  assert.ok(Date.now() - started >= 1000);
  assert.equal(fake.calls[1].body.id, fake.calls[0].body.id);
  fake.calls[1].fail();
  assert.equal(await done, undefined, 'a second failure resolves quietly');

  // The chain goes on after a failure.
  tracker.send('pageview');
  await settle();
  assert.equal(fake.calls.length, 3);
  assert.notEqual(fake.calls[2].body.id, fake.calls[0].body.id);
});

test('ids are UUID v4 without crypto.randomUUID (plain-http pages)', async () => {
  const original = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  const getRandomValues = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
  Object.defineProperty(globalThis, 'crypto', { configurable: true, value: { getRandomValues } });
  try {
    const tracker = createTracker({ baseUrl: 'https://t.example.com' });
    for (let i = 0; i < 20; i++) tracker.send('pageview');
    for (let i = 0; i < 20; i++) {
      await settle();
      assert.match(fake.calls[i].body.id, UUID_V4);
      fake.calls[i].reply(none);
    }
  } finally {
    Object.defineProperty(globalThis, 'crypto', original);
  }
});

test('without fetch, a pageview falls back to the pixel', async () => {
  const realFetch = globalThis.fetch;
  const images = [];
  globalThis.fetch = undefined;
  globalThis.Image = class {
    constructor() {
      images.push(this);
    }
  };
  try {
    const tracker = createTracker({ baseUrl: 'https://t.example.com' });
    await tracker.send('pageview', { utm_source: 'news letter' });
    await tracker.consent('grant');
    assert.equal(images.length, 1, 'consent is never sent as a GET');
    const url = new URL(images[0].src);
    assert.equal(url.origin + url.pathname, 'https://t.example.com/mtracking.gif');
    assert.equal(url.searchParams.get('type'), 'pageview');
    assert.match(url.searchParams.get('id'), UUID_V4);
    assert.equal(url.searchParams.get('page_url'), 'https://shop.example/sale?utm_source=news');
    assert.equal(url.searchParams.get('utm_source'), 'news letter');
    assert.equal(url.searchParams.get('gpc'), 'true');
    assert.equal(url.searchParams.get('resolution'), '1920x1080');
  } finally {
    globalThis.fetch = realFetch;
    delete globalThis.Image;
  }
});

test('the built files contain no storage API', async () => {
  const { readFile } = await import('node:fs/promises');
  for (const file of ['dist/index.js', 'dist/mtc.min.js']) {
    const source = await readFile(new URL('../' + file, import.meta.url), 'utf8');
    assert.doesNotMatch(source, /\.cookie\b|cookieStore|localStorage|sessionStorage|indexedDB|openDatabase|caches/, file);
    assert.doesNotMatch(source, /mtc_id|email/i, file);
  }
});
