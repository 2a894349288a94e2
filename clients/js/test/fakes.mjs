// Fake browser globals for the tests: a controllable fetch, and storage that records (and
// refuses) every touch, so a test can prove the tracker never uses the host site's storage.

/** Names of every storage surface a tracker could (but must not) use. */
export const STORAGE_GLOBALS = ['localStorage', 'sessionStorage', 'indexedDB', 'caches', 'cookieStore', 'openDatabase'];

/**
 * Install fakes on `target` (globalThis, or a vm context) and return handles to them.
 * `touches` lists every storage access; the tests assert that it stays empty.
 */
export function installFakes(target, { src = 'https://t.example.com/mtc.js', gpc = false } = {}) {
  const touches = [];
  const spy = (what) => ({
    configurable: true,
    get() {
      touches.push('read ' + what);
      throw new Error('storage is off limits: ' + what);
    },
    set() {
      touches.push('write ' + what);
      throw new Error('storage is off limits: ' + what);
    },
  });

  const document = {
    title: 'Spring sale',
    referrer: 'https://search.example/?q=sale',
    currentScript: src ? { src } : null,
    scripts: [],
    getElementsByTagName: (tag) => (tag == 'script' ? document.scripts : []),
    // Used by the embed snippet itself (not by the tracker) to inject the <script> tag.
    createElement: () => ({}),
  };
  document.scripts.push({ src: 'https://cdn.example/jquery.js', parentNode: { insertBefore() {} } });
  Object.defineProperty(document, 'cookie', spy('document.cookie'));

  const navigator = { language: 'fr-FR', globalPrivacyControl: gpc, userAgent: 'test' };
  Object.defineProperty(navigator, 'storage', spy('navigator.storage'));

  const fakes = {
    document,
    navigator,
    location: { href: 'https://shop.example/sale?utm_source=news' },
    screen: { width: 1920, height: 1080 },
  };
  for (const [key, value] of Object.entries(fakes)) {
    Object.defineProperty(target, key, { configurable: true, writable: true, value });
  }
  for (const name of STORAGE_GLOBALS) Object.defineProperty(target, name, spy(name));

  // fetch: every call is recorded with a deferred reply the test settles when it wants.
  const calls = [];
  const fetch = (url, init) =>
    new Promise((resolve, reject) => {
      calls.push({
        url,
        init,
        body: JSON.parse(init.body),
        reply(json) {
          resolve({ ok: true, status: 200, json: async () => json });
        },
        refuse(status, json) {
          resolve({ ok: false, status, json: async () => json });
        },
        fail() {
          reject(new TypeError('Failed to fetch'));
        },
      });
    });
  Object.defineProperty(target, 'fetch', { configurable: true, writable: true, value: fetch });

  const warnings = [];
  const console = { ...globalThis.console, warn: (...args) => warnings.push(args.join(' ')) };
  Object.defineProperty(target, 'console', { configurable: true, writable: true, value: console });

  return { touches, calls, warnings, document, navigator };
}

/** Let pending promise callbacks run (several turns, for chained promises). */
export async function settle() {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((resume) => setImmediate(resume));
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const granted = { consent: 'granted', counted: true, reason: 'consent_cookie' };
export const none = { consent: 'none', counted: true, reason: 'anonymous' };
