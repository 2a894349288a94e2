/**
 * dist/mtc.min.js: the script that the classic Mautic-style embed snippet loads.
 *
 * The snippet already on site owners' pages keeps working unchanged:
 *
 *   (function(w,d,t,u,n,a,m){w['MauticTrackingObject']=n;
 *    w[n]=w[n]||function(){(w[n].q=w[n].q||[]).push(arguments)},a=d.createElement(t),
 *    m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
 *   })(window,document,'script','https://tracker.example.com/mtc.js','mt');
 *   mt('send', 'pageview');
 *
 * Until this file arrives, `mt(...)` only records its arguments in `mt.q`. On load we replace
 * the stub with the real dispatcher and replay the recorded calls, in order.
 *
 * The same build is served as `/mautic-tracking.js`, Mautic 7's tracking add-on: loaded after
 * `/mautic-essential.js`, it completes the `MauticJS` runtime that one installed, sets
 * `MauticJS.trackingEnabled` and dispatches `mautic:tracking-enabled`. Whether anything is
 * counted or identified is still the server's gate's decision, never this script's.
 *
 * `mt('consentSource', name, options?)`, or `data-consent-source="name"` on the script tag,
 * reads the visitor's choice from the consent banner the site already runs: it loads that
 * banner's bridge (`/mtc-consent/{name}.js`, see src/bridges/) only then, so the core stays
 * small. The bridge asks for its options with `mt('consentBridge', name, start)` and reports
 * with `mt('consent', action, {source, notice, explicit})`, in order with every other call.
 */
import { createTracker, dispatch } from './core.js';
import { runtimeInstall } from './runtime.js';

/** The page's `mt` function: the snippet's queueing stub, or ours once loaded. */
type Stub = ((...args: unknown[]) => unknown) & { q?: ArrayLike<unknown>[]; consentry?: boolean };

/** A bridge's name (the server answers 404 for a banner it has no bridge for). */
const SOURCE = /^[a-z]+$/;

/** Matches the fallback's script URL: `.../mtc.js`, optionally with a query or fragment. */
const SCRIPT_PATH = /\/(mtc|mautic-tracking)(\.min)?\.js([?#]|$)/;

/**
 * The tracker's base URL: origin plus path prefix of this script's own src, e.g.
 * `https://t.example.com/mtc.js` -> `https://t.example.com`,
 * `https://example.com/consentry/mtc.js` -> `https://example.com/consentry`.
 */
function scriptBase(doc: Document): string {
  const current = doc.currentScript as HTMLScriptElement | null;
  let src = current && current.src;
  if (!src) {
    // currentScript is null in some old browsers: take the last matching <script>.
    const scripts = doc.getElementsByTagName('script');
    for (let i = scripts.length; i--; ) {
      if (SCRIPT_PATH.test(scripts[i].src)) {
        src = scripts[i].src;
        break;
      }
    }
  }
  if (!src) return ''; // same origin as the page, as a last resort
  return src.replace(/[?#].*/, '').replace(/\/[^/]*$/, '');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const win = window as any;
// The snippet names the global (`'mt'` in the usual snippet) in window.MauticTrackingObject.
const name: string = win.MauticTrackingObject || 'mt';
const stub: Stub | undefined = win[name];

// Loaded twice on the same page? The first copy already owns the global.
if (!(stub && stub.consentry)) {
  const runtime = runtimeInstall(win);
  const base = scriptBase(document);
  const tracker = createTracker({ baseUrl: base });
  // Bridge name -> its options, once its script is asked for (each loads at most once).
  const bridges: Record<string, unknown> = {};

  const consentSource = (source: unknown, options?: unknown) => {
    const bridge = String(source);
    if (!SOURCE.test(bridge) || bridge in bridges) return;
    bridges[bridge] = options;
    const script = document.createElement('script');
    script.async = true;
    script.src = base + '/mtc-consent/' + bridge + '.js';
    (document.head || document.documentElement).appendChild(script);
  };

  let first = true;
  const mt: Stub = function (...args: unknown[]) {
    if (args[0] == 'consentSource') return consentSource(args[1], args[2]);
    if (args[0] == 'consentBridge') {
      // A bridge has loaded: hand it the options its page gave (a bridge never throws).
      const start = args[2];
      if (typeof start == 'function') start(bridges[String(args[1])] || {});
      return;
    }
    if (first && args[0] == 'send') {
      // Mautic's beforeFirstEventDelivery hooks run once, before the first pageview leaves.
      first = false;
      runtime.runBeforeFirstDelivery(args[2]);
    }
    return tracker.command(...args);
  };
  mt.consentry = true;
  win[name] = mt;

  // Replay what the page asked for before we arrived, in order. Each call only builds its
  // request and appends it to the tracker's serial chain, so order is kept on the wire too.
  const queued = (stub && stub.q) || [];
  for (let i = 0; i < queued.length; i++) mt(...Array.prototype.slice.call(queued[i]));

  // <script src=".../mtc.js" data-consent-source="tcf">: for sites that load the script by tag.
  const current = document.currentScript;
  const named = current && current.getAttribute && current.getAttribute('data-consent-source');
  if (named) mt('consentSource', named);

  runtime.trackingEnabled = true;
  runtime.requestWithCredentials = true;
  dispatch('mautic:tracking-enabled');

  // Dynamic web content: the slot filler is its own small file, asked for once the server says
  // this browser may be tracked (a grant, or mode always) and only when the page has slots
  // (Mautic's `data-slot="dwc"` or `.mautic-slot` markup). Until then each slot keeps the
  // page's own default content and nothing is asked.
  let dwc = false;
  tracker.onConsent((reply) => {
    if (dwc || (reply.reason != 'granted' && reply.reason != 'mode_always')) return;
    dwc = !!document.querySelector('.mautic-slot,[data-slot=dwc]');
    if (dwc) runtime.insertScript(base + '/mtc-dwc.js');
  });
}
