// Tests of src/dwc.ts (fillDynamicContent), compiled here with esbuild and run in a fresh vm
// context that plays the window: fake slots, a fake inert <template>, a recorded fetch, and
// storage that refuses every touch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { buildSync } from 'esbuild';
import { installFakes, settle } from './fakes.mjs';

const CODE = buildSync({
  entryPoints: [new URL('../src/dwc.ts', import.meta.url).pathname],
  bundle: true,
  format: 'iife',
  globalName: 'Dwc',
  target: 'es2020',
  write: false,
}).outputFiles[0].text;

/** A fake element: enough of the DOM for the slots and the template's parsed content. */
function element(tag, { dataset = {}, attributes = {}, className = '', text = '' } = {}) {
  const node = {
    tag,
    dataset: { ...dataset },
    className,
    text,
    removed: false,
    children: [],
    attributes: Object.entries(attributes).map(([name, value]) => ({ name, value })),
    removeAttribute(name) {
      node.attributes = node.attributes.filter((a) => a.name !== name);
    },
    remove() {
      node.removed = true;
    },
    replaceChildren(...children) {
      node.children = children;
    },
  };
  return node;
}

const matches = (node, selector) =>
  selector === '*' ||
  selector.split(',').some((one) => {
    one = one.trim();
    if (one === '.mautic-slot') return node.className.split(' ').includes('mautic-slot');
    if (one === '[data-slot="dwc"]') return node.dataset.slot === 'dwc';
    return node.tag === one;
  });

/**
 * A window whose document holds `slots`, and whose <template> parses the HTML strings named
 * in `parsed` into the given fake nodes (any other string into one text node).
 */
function page(slots, parsed = {}) {
  const window = vm.createContext({ Promise, setTimeout, URL, encodeURIComponent });
  window.window = window;
  const fake = installFakes(window);
  const all = (nodes, selector) => nodes.filter((n) => matches(n, selector));
  fake.document.querySelectorAll = (selector) => all(slots, selector);
  fake.document.createElement = (tag) => {
    assert.equal(tag, 'template');
    const template = { content: null };
    Object.defineProperty(template, 'innerHTML', {
      set(html) {
        const nodes = parsed[html] ?? [{ text: html }];
        template.content = {
          childNodes: nodes.filter((n) => !n.removed),
          querySelectorAll: (selector) => all(nodes.filter((n) => n.tag), selector),
        };
        Object.defineProperty(template.content, 'childNodes', {
          get: () => nodes.filter((n) => !n.removed),
        });
      },
    });
    return template;
  };
  // fetch for GET requests: recorded, answered by the test.
  const calls = [];
  window.fetch = (url, init) =>
    new Promise((resolve, reject) => {
      calls.push({
        url,
        init,
        reply(status, json) {
          resolve({ ok: status < 400, status, json: async () => json });
        },
        fail() {
          reject(new TypeError('Failed to fetch'));
        },
      });
    });
  vm.runInContext(CODE, window);
  const fill = (options = {}) =>
    vm.runInContext('Dwc.fillDynamicContent', window)({ baseUrl: 'https://t.example.com/', ...options });
  return { window, fake, calls, fill };
}

// The slot markup of Mautic's documentation (dynamic web content, "Slot" embed), and the
// older class-based one its tracking script also looks for.
const mauticSlot = (name, text = 'Default') =>
  element('div', { dataset: { slot: 'dwc', paramSlotName: name }, text });

test('one slot is asked at Mautic’s /dwc/{slot} with the tracker’s cookies and filled', async () => {
  const hero = mauticSlot('hero');
  const { calls, fill, fake } = page([hero]);
  const done = fill();
  await settle();
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, 'https://t.example.com/dwc/hero');
  assert.deepEqual({ ...calls[0].init }, { method: 'GET', credentials: 'include' });
  calls[0].reply(200, { content: '<p>Bonjour</p>' });
  assert.equal(await done, 1);
  assert.deepEqual(hero.children, [{ text: '<p>Bonjour</p>' }]);
  assert.deepEqual(fake.touches, [], 'the fill touched storage');
});

test('a 204 or a failed request keeps the page’s default content and throws nothing', async () => {
  for (const answer of ['204', 'fail', '500']) {
    const hero = mauticSlot('hero');
    const { calls, fill } = page([hero]);
    const done = fill();
    await settle();
    if (answer === 'fail') calls[0].fail();
    else calls[0].reply(Number(answer), undefined);
    assert.equal(await done, 0, answer);
    assert.deepEqual(hero.children, [], answer);
  }
});

test('several slots are one batch request; a null slot keeps its default', async () => {
  const hero = mauticSlot('hero');
  const old = element('div', { className: 'mautic-slot', dataset: { slotName: 'footer' } });
  const twice = mauticSlot('hero');
  const nameless = element('div', { dataset: { slot: 'dwc' } });
  const hostile = mauticSlot('../admin');
  const { calls, fill, window } = page([hero, old, twice, nameless, hostile]);
  window.navigator.globalPrivacyControl = true;
  const done = fill();
  await settle();
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, 'https://t.example.com/dwc?slot=hero&slot=footer&gpc=1');
  calls[0].reply(200, { slots: { hero: '<em>Hi</em>', footer: null } });
  assert.equal(await done, 2);
  assert.deepEqual(hero.children, [{ text: '<em>Hi</em>' }]);
  assert.deepEqual(twice.children, [{ text: '<em>Hi</em>' }]);
  assert.deepEqual(old.children, []);
  assert.deepEqual(nameless.children, []);
  assert.deepEqual(hostile.children, []);
});

test('a page without slots makes no request, and a filled slot is not asked again', async () => {
  const empty = page([]);
  assert.equal(await empty.fill(), 0);
  assert.equal(empty.calls.length, 0);

  const hero = mauticSlot('hero');
  const { calls, fill } = page([hero]);
  const first = fill();
  await settle();
  calls[0].reply(200, { content: 'x' });
  await first;
  assert.equal(await fill(), 0);
  assert.equal(calls.length, 1);
});

test('the served HTML is parsed inert and cleaned again before it enters the page', async () => {
  const html = '<p onclick="steal()">Hi</p><script>steal()</script>';
  const paragraph = element('p', {
    attributes: { onclick: 'steal()', class: 'lead', title: 'ok' },
  });
  const link = element('a', { attributes: { href: ' JavaScript:steal()' } });
  const script = element('script');
  const hero = mauticSlot('hero');
  const { calls, fill } = page([hero], { [html]: [paragraph, link, script] });
  const done = fill();
  await settle();
  calls[0].reply(200, { content: html });
  assert.equal(await done, 1);
  assert.deepEqual(hero.children, [paragraph, link]);
  assert.deepEqual(
    paragraph.attributes.map((a) => a.name),
    ['class', 'title'],
  );
  assert.deepEqual(link.attributes, []);
});
