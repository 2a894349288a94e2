// Tests of the bridges to a site's consent banner (dist/consent/*.js), behind the real snippet
// build (dist/mtc.min.js) in a vm context that plays the window. Each banner is a fake that
// follows its documented public API; the tracker's requests are read off the fake fetch.
// Run `npm run build` first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { installFakes, settle, none } from './fakes.mjs';

const SCRIPT = readFileSync(new URL('../dist/mtc.min.js', import.meta.url), 'utf8');
const bridge = (name) => readFileSync(new URL(`../dist/consent/${name}.js`, import.meta.url), 'utf8');

const SNIPPET = `(function(w,d,t,u,n,a,m){w['MauticTrackingObject']=n;
 w[n]=w[n]||function(){(w[n].q=w[n].q||[]).push(arguments)},a=d.createElement(t),
 m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
})(window,document,'script','https://t.example.com/mtc.js','mt');`;

/**
 * A window with the snippet and the tracker loaded. `before` runs first (the banner's own
 * state at load); the script tags the tracker adds are "loaded" on the next turn.
 */
function page({ attribute = null, before = '', commands = '' } = {}) {
  const window = vm.createContext({ setTimeout, clearTimeout, crypto: globalThis.crypto });
  window.window = window;
  const fake = installFakes(window);
  const listeners = {};
  window.addEventListener = (type, f) => (listeners[type] = listeners[type] || []).push(f);
  window.dispatch = (type, detail) => (listeners[type] || []).forEach((f) => f({ type, detail }));
  fake.document.readyState = 'complete';
  fake.document.currentScript.getAttribute = (name) => (name == 'data-consent-source' ? attribute : null);
  const loaded = [];
  fake.document.head = {
    appendChild(element) {
      loaded.push(element.src);
      const match = /\/mtc-consent\/(\w+)\.js$/.exec(element.src);
      if (match) setTimeout(() => vm.runInContext(bridge(match[1]), window), 0);
    },
  };
  const run = (code) => vm.runInContext(code, window);
  run(before);
  run(SNIPPET);
  run(commands);
  run(SCRIPT);
  /** Answer every request so far; returns the consent requests' bodies, in order. */
  const sent = [];
  const answer = async () => {
    for (let i = 0; i < 10; i++) {
      await settle();
      await new Promise((resume) => setTimeout(resume, 2)); // the tags' scripts and timers
      for (const call of fake.calls.splice(0)) {
        if (call.body.type == 'consent') sent.push(call.body);
        call.reply(none);
      }
    }
    return sent.map(({ consent, source, notice, explicit }) => ({ consent, source, notice, explicit }));
  };
  return { window, fake, run, loaded, answer };
}

const choice = (consent, source, explicit, notice) => ({ consent, source, notice, explicit });

test('a bridge loads from the tracker only when the page names one, once', async () => {
  const plain = page({ commands: "mt('send', 'pageview');" });
  await plain.answer();
  assert.deepEqual(plain.loaded, [], 'no banner named: nothing more is loaded');

  const named = page({ commands: "mt('consentSource', 'klaro'); mt('consentSource', 'klaro'); mt('consentSource', '../x');" });
  await named.answer();
  assert.deepEqual(named.loaded, ['https://t.example.com/mtc-consent/klaro.js']);

  const tagged = page({ attribute: 'tcf' });
  await tagged.answer();
  assert.deepEqual(tagged.loaded, ['https://t.example.com/mtc-consent/tcf.js']);
});

test('the consent command carries source, notice and explicit, and nothing else', async () => {
  const { run, answer, fake } = page();
  run("mt('consent', 'grant', { source: 'klaro', notice: '3', explicit: true, id: 'x', consent: 'object' })");
  run("mt('consent', 'revoke')");
  const sent = await answer();
  assert.deepEqual(sent, [choice('grant', 'klaro', true, '3'), choice('revoke', undefined, undefined, undefined)]);
  assert.deepEqual(fake.touches, []);
});

test('Consent Mode: defaults already in the dataLayer, then updates pushed later', async () => {
  const { run, answer, fake } = page({
    before: `window.dataLayer = []; function gtag(){dataLayer.push(arguments);}
      gtag('consent', 'default', { analytics_storage: 'granted', region: ['US'] });
      gtag('consent', 'default', { analytics_storage: 'denied', ad_storage: 'denied' });`,
    commands: "mt('consentSource', 'gcm');",
  });
  assert.deepEqual(await answer(), [choice('revoke', 'gcm', false)]);
  run("gtag('consent', 'update', { analytics_storage: 'granted' })");
  run("gtag('consent', 'update', { analytics_storage: 'granted' })"); // the same again: nothing
  run("dataLayer.push({ event: 'gtm.js' }, ['consent', 'update', { ad_storage: 'granted' }])");
  assert.deepEqual((await answer()).slice(1), [choice('grant', 'gcm', true)]);
  run("gtag('consent', 'update', { analytics_storage: 'denied' })");
  assert.deepEqual((await answer()).slice(2), [choice('revoke', 'gcm', true)]);
  assert.equal(run('dataLayer.length'), 7, 'every entry still reaches the dataLayer');
  assert.deepEqual(fake.touches, []);
});

// A CMP's __tcfapi as the TCF v2.2 spec describes it, with the events a test emits.
const TCF = `window.tcf = { listeners: [], data: null,
  emit(eventStatus, consents) {
    this.data = Object.assign({ tcString: 'CP', tcfPolicyVersion: 4, cmpId: 42, gdprApplies: true,
      eventStatus, purpose: { consents: {} }, vendor: { consents: {} }, publisher: { consents: {} } }, consents);
    this.listeners.forEach((f) => f(this.data, true));
  } };
  window.__tcfapi = function (command, version, callback) {
    if (command == 'addEventListener' && version == 2) { tcf.listeners.push(callback); if (tcf.data) callback(tcf.data, true); }
  };`;

test('TCF: tcloaded is read, a user action is explicit, the UI being shown is not a choice', async () => {
  const { run, answer } = page({
    before: TCF + "tcf.emit('tcloaded', { publisher: { consents: { 1: true, 8: true } } });",
    commands: "mt('consentSource', 'tcf');",
  });
  assert.deepEqual(await answer(), [choice('grant', 'tcf:42', false, '4')]);
  run("tcf.emit('cmpuishown', {})");
  run("tcf.emit('useractioncomplete', { publisher: { consents: { 1: true } } })");
  assert.deepEqual((await answer()).slice(1), [choice('revoke', 'tcf:42', true, '4')]);
  run("tcf.emit('useractioncomplete', { gdprApplies: false })");
  assert.equal((await answer()).length, 2, 'where the GDPR does not apply, nothing is said');
});

test('TCF: purposes and a vendor id are options', async () => {
  const { run, answer } = page({
    before: TCF,
    commands: "mt('consentSource', 'tcf', { purposes: [1, 9], vendor: 755 });",
  });
  await answer();
  run("tcf.emit('useractioncomplete', { purpose: { consents: { 1: true, 9: true } }, vendor: { consents: { 12: true } } })");
  run("tcf.emit('useractioncomplete', { purpose: { consents: { 1: true, 9: true } }, vendor: { consents: { 755: true } } })");
  assert.deepEqual(await answer(), [choice('revoke', 'tcf:42', true, '4'), choice('grant', 'tcf:42', true, '4')]);
});

test('GPP: a US opt-out is a refusal, no opt-out says nothing', async () => {
  const { run, answer } = page({
    before: `window.gppListeners = [];
      window.__gpp = function (command, callback) { if (command == 'addEventListener') gppListeners.push(callback); };
      window.gppEmit = function (eventName, sections) { gppListeners.forEach((f) => f({ eventName, listenerId: 1, data: true,
        pingData: { signalStatus: 'ready', cmpId: 7, parsedSections: sections } }, true)); };`,
    commands: "mt('consentSource', 'gpp');",
  });
  await answer();
  run("gppEmit('signalStatus', { usnat: [{ SaleOptOut: 2, SharingOptOut: 2 }, { Gpc: false }] })");
  assert.deepEqual(await answer(), []);
  run("gppEmit('sectionChange', { usca: { SaleOptOut: 1 } })");
  assert.deepEqual(await answer(), [choice('revoke', 'gpp:7', true)]);
});

test('Cookiebot: only an answer given, and explicit only when given on this page', async () => {
  const { run, answer } = page({
    before: "window.Cookiebot = { hasResponse: false, changed: false, consent: { statistics: false } };",
    commands: "mt('consentSource', 'cookiebot');",
  });
  assert.deepEqual(await answer(), [], 'no answer yet is no refusal');
  run("Cookiebot.hasResponse = true; Cookiebot.changed = true; Cookiebot.consent.statistics = true; dispatch('CookiebotOnAccept')");
  assert.deepEqual(await answer(), [choice('grant', 'cookiebot', true)]);
});

test('OneTrust: the performance group, the wrapper chained, changes explicit', async () => {
  const { run, answer } = page({
    before: `window.wrapped = 0; window.OptanonWrapper = function () { wrapped++; };
      window.OnetrustActiveGroups = ',C0001,C0002,';`,
    commands: "mt('consentSource', 'onetrust');",
  });
  await answer();
  run(`window.OneTrust = { closed: false, changed: [], IsAlertBoxClosed() { return this.closed; },
    OnConsentChanged(f) { this.changed.push(f); } }; OptanonWrapper();`);
  assert.equal(run('wrapped'), 1, "the site's own OptanonWrapper still runs");
  assert.deepEqual(await answer(), [], 'the default groups before an answer are no choice');
  run("OnetrustActiveGroups = ',C0001,'; OneTrust.closed = true; OneTrust.changed.forEach((f) => f())");
  assert.deepEqual(await answer(), [choice('revoke', 'onetrust', true)]);
});

test('Usercentrics: an explicit answer at load, then the visitor acting', async () => {
  const { run, answer } = page({
    before: `window.ucServices = [{ name: 'Consentry', categorySlug: 'marketing',
        consent: { status: true, history: [{ type: 'implicit' }, { type: 'explicit' }] } }];
      window.UC_UI = { isInitialized: () => true, getServicesBaseInfo: () => ucServices };`,
    commands: "mt('consentSource', 'usercentrics');",
  });
  assert.deepEqual(await answer(), [choice('grant', 'usercentrics', false)]);
  run("ucServices[0].consent.status = false; dispatch('UC_UI_CMP_EVENT', { source: 'FIRST_LAYER', type: 'DENY_ALL' })");
  assert.deepEqual((await answer()).slice(1), [choice('revoke', 'usercentrics', true)]);
});

// Klaro's consent manager as its source has it: a watcher list, confirmed once answered, and
// the service callback called with false at start.
const KLARO = `window.klaroConfig = { services: [{ name: 'consentry', purposes: ['analytics'],
    callback: function (consent) { window.calledBack = consent; } }] };
  window.klaroManager = { config: klaroConfig, confirmed: false, consents: { consentry: false }, watchers: [],
    getConsent(name) { return this.consents[name]; }, watch(w) { this.watchers.push(w); },
    save(type, value) { this.consents.consentry = value; this.confirmed = true;
      this.watchers.forEach((w) => w.update(this, 'saveConsents', { changes: {}, consents: this.consents, type })); } };
  window.klaro = { getManager: () => klaroManager };
  klaroConfig.services[0].callback(false);`;

test("Klaro: its start-up callback(false) is no refusal; a saved answer is explicit", async () => {
  const { run, answer } = page({ before: KLARO, commands: "mt('consentSource', 'klaro');" });
  assert.deepEqual(await answer(), []);
  run("klaroManager.save('accept', true)");
  run("klaroManager.save('script', true)");
  assert.deepEqual(await answer(), [choice('grant', 'klaro', true)]);
  run("klaroManager.save('decline', false)");
  assert.deepEqual((await answer()).slice(1), [choice('revoke', 'klaro', true)]);
});

test('Klaro: an answer from an earlier page is read at load, not explicit', async () => {
  const { answer } = page({
    before: KLARO + 'klaroManager.confirmed = true; klaroManager.consents.consentry = true;',
    commands: "mt('consentSource', 'klaro');",
  });
  assert.deepEqual(await answer(), [choice('grant', 'klaro', false)]);
});

const COOKIECONSENT = `window.ccState = { valid: false, analytics: false, revision: 2 };
  window.CookieConsent = { validConsent: () => ccState.valid, acceptedCategory: (c) => c == 'analytics' && ccState.analytics,
    getCookie: (field) => (field == 'revision' ? ccState.revision : {}) };`;

test('cookieconsent: first consent and changes are explicit, the repeat on load is not', async () => {
  const { run, answer } = page({ before: COOKIECONSENT, commands: "mt('consentSource', 'cookieconsent');" });
  assert.deepEqual(await answer(), []);
  run("ccState.valid = true; ccState.analytics = true; dispatch('cc:onFirstConsent'); dispatch('cc:onConsent')");
  assert.deepEqual(await answer(), [choice('grant', 'cookieconsent', true, '2')]);
  run("ccState.analytics = false; dispatch('cc:onChange')");
  assert.deepEqual((await answer()).slice(1), [choice('revoke', 'cookieconsent', true, '2')]);
});

test('auto: a named banner wins over the Consent Mode it also feeds', async () => {
  const { answer, loaded } = page({
    before: COOKIECONSENT + `ccState.valid = true; ccState.analytics = true;
      window.dataLayer = [['consent', 'default', { analytics_storage: 'denied' }]];`,
    commands: "mt('consentSource', 'auto');",
  });
  assert.deepEqual(await answer(), [choice('grant', 'cookieconsent', false, '2')]);
  assert.deepEqual(loaded, ['https://t.example.com/mtc-consent/auto.js']);
});

test('auto: Consent Mode alone, once the page has loaded', async () => {
  const { answer } = page({
    before: "window.dataLayer = [['consent', 'default', { analytics_storage: 'granted' }]];",
    commands: "mt('consentSource', 'auto');",
  });
  assert.deepEqual(await answer(), [choice('grant', 'gcm', false)]);
});
