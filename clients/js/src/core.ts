/**
 * Consentry tracker core: the one place where the tracking logic lives.
 *
 * Both builds use this module:
 *  - src/snippet.ts -> dist/mtc.min.js, the IIFE behind the classic `mt(...)` embed snippet;
 *  - src/index.ts   -> dist/index.js, the ESM API (`createTracker`).
 *
 * Privacy rules, enforced by construction (there is simply no code for the opposite):
 *  - this script never writes (or reads) document.cookie, localStorage, sessionStorage,
 *    IndexedDB or any other storage of the host site. Every cookie is the tracker's own,
 *    set by the Consentry server on its own origin, and only when its consent gate allows it;
 *  - it never reads identity from the page (no mtc_id, no email): what a request carries is
 *    the page's public context plus whatever fields the site owner passes explicitly;
 *  - it forwards the browser's Global Privacy Control signal, and the caller cannot override it.
 *
 * The script never throws into the host page: every command is wrapped, every promise is
 * settled, and a failed request is retried once and then dropped.
 */

/** What a visitor (or the site's consent banner) can ask for. */
export type ConsentAction = 'grant' | 'revoke';

/** The state the server reports after each reply. */
export type ConsentState = 'granted' | 'refused' | 'objected' | 'none';

/** The server's JSON reply to every request on `/mtc/event`. */
export interface ConsentReply {
  consent: ConsentState;
  /** Whether this hit was counted (anonymously or identified). */
  counted: boolean;
  /** Machine-readable reason for the gate's decision. */
  reason: string;
}

export type ConsentCallback = (reply: ConsentReply) => void;

/**
 * Where a choice comes from, sent with it: a bridge to the site's consent banner says which
 * banner (`source`, e.g. 'klaro' or 'tcf:7'), its notice or policy version, and whether the
 * visitor acted (`explicit`) or the banner only reported a state it held at load. The server
 * records a choice only when it changes what this browser holds.
 */
export interface ConsentDetails {
  source?: string;
  notice?: string;
  explicit?: boolean;
}

/**
 * Extra fields sent with a pageview (utm_* tags, a custom page_url, your own fields).
 * `type`, `id` and `gpc` are always set by the tracker and cannot be overridden.
 */
export type PageviewFields = Record<string, string | number | boolean | null | undefined>;

/**
 * What Mautic's `mauticPageEventDelivered` event carries, and what `onload` / `onerror`
 * receive: the command as the page gave it, the fields sent, and the server's reply (absent
 * when there was none).
 */
export interface DeliveryDetail {
  event: unknown[];
  params: Payload;
  response?: ConsentReply;
}

/** Mautic's fourth argument to `mt('send', 'pageview', fields, callbacks)`. */
export interface DeliveryCallbacks {
  /** Called once the server answered with success. */
  onload?: (detail: DeliveryDetail) => void;
  /** Called when the request failed (network error after the retry, or an error reply). */
  onerror?: (detail: DeliveryDetail) => void;
}

export interface TrackerOptions {
  /**
   * Origin plus path prefix of the Consentry server, e.g. `https://t.example.com`
   * (requests go to `${baseUrl}/mtc/event`). A trailing slash is ignored.
   */
  baseUrl: string;
}

export interface Tracker {
  /**
   * Record a pageview. Resolves with the server's reply, or undefined if there was none.
   * `callbacks.onload` runs after a successful reply, `callbacks.onerror` after a failure.
   */
  send(type: 'pageview', fields?: PageviewFields, callbacks?: DeliveryCallbacks): Promise<ConsentReply | undefined>;
  /** Record the visitor's consent choice (the server sets or clears its own cookies). */
  consent(action: ConsentAction, details?: ConsentDetails): Promise<ConsentReply | undefined>;
  /** The visitor objects: not even anonymous counting from now on. */
  optOut(): Promise<ConsentReply | undefined>;
  /** Call `callback` with the server's parsed reply after every request. */
  onConsent(callback: ConsentCallback): void;
  /**
   * The string dispatcher behind the `mt(...)` snippet, e.g. `command('send', 'pageview')`.
   * Unknown commands are ignored with a console warning; it never throws.
   */
  command(...args: unknown[]): Promise<ConsentReply | undefined> | undefined;
}

/** Everything sent to the server; serialised as JSON (or as a query string for the pixel). */
export type Payload = Record<string, unknown>;

/** What the `consent` field of a consent request may say ('object' = optOut). */
type ConsentWire = ConsentAction | 'object';

// All host objects are read through globalThis, at the moment they are needed, so the module
// can be imported where they do not exist (server-side rendering, tests) without failing.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const host: any = globalThis;

/** How long to wait before the single retry of a request that failed on the network. */
const RETRY_DELAY_MS = 1000;

function warn(message: string): void {
  if (host.console && host.console.warn) host.console.warn('[consentry] ' + message);
}

/** Run a page's function; a broken callback must not break the tracker, nor the page. */
export function guard(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    // swallowed on purpose
  }
}

/** Mautic's `MauticJS.dispatchEvent`: a CustomEvent on the document, with `detail`. */
export function dispatch(name: string, detail?: unknown): void {
  const doc = host.document;
  if (!doc || !doc.dispatchEvent || typeof host.CustomEvent != 'function') return;
  guard(() => doc.dispatchEvent(new host.CustomEvent(name, { detail })));
}

/**
 * A fresh random UUID v4. The server de-duplicates on it, so a retried request keeps its id.
 * It identifies one request, never a visitor, and is never stored.
 */
function uuid(): string {
  const crypto = host.crypto;
  // randomUUID exists only in secure contexts (https); plain-http pages use the fallback.
  if (crypto && crypto.randomUUID) return crypto.randomUUID();

  const bytes = new Uint8Array(16);
  if (crypto && crypto.getRandomValues) {
    crypto.getRandomValues(bytes);
  } else {
    // No Web Crypto at all: still unique enough to de-duplicate a retry.
    for (let i = 0; i < 16; i++) bytes[i] = Math.random() * 256;
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant

  let out = '';
  for (let i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += (bytes[i] + 256).toString(16).slice(1);
  }
  return out;
}

/** The public context of the current page, shared by every kind of request. */
function pageContext(type: string): Payload {
  const doc = host.document || {};
  const loc = host.location || {};
  return {
    type,
    id: uuid(),
    page_url: loc.href,
    page_title: doc.title,
    page_referrer: doc.referrer,
    gpc: gpc(),
  };
}

/** Whether the browser sends the Global Privacy Control signal. */
function gpc(): boolean {
  return (host.navigator || {}).globalPrivacyControl === true;
}

/**
 * A string the server accepts: lone surrogates (a title cut in the middle of an emoji) become
 * U+FFFD, as a UTF-8 encoder would make them, and control characters other than tab and line
 * breaks are dropped. The server refuses a request that holds either, so a page whose title
 * holds one would otherwise not be counted at all.
 */
export function wellFormed(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += value[i] + value[i + 1];
        i++;
      } else {
        out += '\ufffd';
      }
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      out += '\ufffd';
    } else if ((code < 0x20 && code != 9 && code != 10 && code != 13) || code == 0x7f) {
      // dropped
    } else {
      out += value[i];
    }
  }
  return out;
}

function wellFormedValue(_key: string, value: unknown): unknown {
  return typeof value == 'string' ? wellFormed(value) : value;
}

/** `key=value&...` for the image fallback; null/undefined values are left out. */
function toQuery(payload: Payload): string {
  const parts: string[] = [];
  for (const key in payload) {
    const value = payload[key];
    if (value != null) parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(wellFormed(String(value))));
  }
  return parts.join('&');
}

export function createTracker(options: TrackerOptions): Tracker {
  const base = String(options.baseUrl || '').replace(/\/+$/, '');
  const endpoint = base + '/mtc/event';
  const listeners: ConsentCallback[] = [];
  let hinted: unknown;

  // Strict serialisation: each request starts only once the previous one has been answered
  // (or has failed for good). So a queued `consent grant` reaches the server, which sets its
  // cookie, before the pageview that follows it is sent, and that pageview can be identified.
  // Every link of the chain resolves, never rejects, so one failure cannot stall the rest.
  // Settled with nothing: what a command that sends nothing resolves to.
  const nothing: Promise<undefined> = Promise.resolve(undefined);
  let chain: Promise<unknown> = nothing;

  /** POST one payload; on a network error, wait and try once more with the same body (and id). */
  function post(body: string, isRetry?: boolean): Promise<Response | undefined> {
    return nothing
      .then(() =>
        host.fetch(endpoint, {
          method: 'POST',
          credentials: 'include', // the tracker's own cookies, on the tracker's own origin
          keepalive: true, // survives the page being unloaded right after a call
          // text/plain keeps this a CORS "simple request": no preflight round trip.
          headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
          body,
        }),
      )
      .catch(() => {
        if (isRetry) return undefined;
        return new Promise((resume) => setTimeout(resume, RETRY_DELAY_MS)).then(() => post(body, true));
      });
  }

  /**
   * Send one payload and hand the reply to the listeners, then to the command's own callbacks
   * (`onload` on success, `onerror` on failure), and announce a delivered pageview with Mautic's
   * `mauticPageEventDelivered` event. Never rejects.
   */
  function deliver(payload: Payload, event?: unknown[], callbacks?: DeliveryCallbacks): Promise<ConsentReply | undefined> {
    const detail: DeliveryDetail = { event: event || [], params: payload };
    if (!host.fetch) {
      // Very old browsers: a pageview can still be counted through the pixel. There is no
      // reply to read, and a consent change is not made through a GET.
      if (payload.type == 'pageview' && host.Image) {
        const image = new host.Image();
        image.onload = () => settled(true, detail, callbacks);
        image.onerror = () => settled(false, detail, callbacks);
        image.src = base + '/mtracking.gif?' + toQuery(payload);
      } else {
        warn('this browser cannot send ' + payload.type);
      }
      return nothing;
    }
    let ok = false;
    return post(JSON.stringify(payload, wellFormedValue))
      .then((response) => {
        ok = !!response && response.ok !== false;
        return response && response.json();
      })
      .then((reply) => {
        if (!reply || typeof reply != 'object' || !('consent' in reply)) {
          settled(false, detail, callbacks);
          return undefined;
        }
        // A refusal that says why (this site is not tracked) is shown once in the console, and
        // its state still reaches onConsent: a banner waiting for a reply is not left hanging.
        if (reply.hint && !hinted) warn((hinted = reply.hint));
        for (const listener of listeners.slice()) guard(() => listener(reply));
        detail.response = reply as ConsentReply;
        settled(ok, detail, callbacks);
        return ok ? (reply as ConsentReply) : undefined;
      })
      .catch(() => settled(false, detail, callbacks));
  }

  /** A request is over: its callback, then (for a counted pageview) the page-wide event. */
  function settled(ok: boolean, detail: DeliveryDetail, callbacks?: DeliveryCallbacks): undefined {
    const callback = callbacks && (ok ? callbacks.onload : callbacks.onerror);
    if (typeof callback == 'function') guard(() => callback(detail));
    if (ok && detail.params.type == 'pageview') dispatch('mauticPageEventDelivered', detail);
    return undefined;
  }

  /**
   * Build a payload now (at call time, so it describes the page as it is now) and append its
   * request to the serial chain. A builder that fails drops the request instead of throwing.
   */
  function enqueue(build: () => Payload, event?: unknown[], callbacks?: DeliveryCallbacks): Promise<ConsentReply | undefined> {
    let payload: Payload;
    try {
      payload = build();
    } catch (e) {
      return nothing;
    }
    const done = chain.then(() => deliver(payload, event, callbacks));
    chain = done;
    return done;
  }

  function send(type: 'pageview', fields?: PageviewFields, callbacks?: DeliveryCallbacks): Promise<ConsentReply | undefined> {
    if (type != 'pageview') {
      warn('unknown hit type: ' + String(type));
      return nothing;
    }
    const event: unknown[] = ['send', type];
    if (fields !== undefined || callbacks !== undefined) event.push(fields);
    if (callbacks !== undefined) event.push(callbacks);
    return enqueue(() => {
      const context = pageContext('pageview');
      const screen = host.screen;
      const payload: Payload = {
        ...context,
        page_language: (host.navigator || {}).language,
        resolution: screen ? screen.width + 'x' + screen.height : undefined,
      };
      // The caller's fields may add to or replace the page context (a custom page_url, utm_*),
      // but never the request's type, its id, or the browser's privacy signal.
      if (fields && typeof fields == 'object') Object.assign(payload, fields);
      payload.type = context.type;
      payload.id = context.id;
      payload.gpc = context.gpc;
      return payload;
    }, event, callbacks && typeof callbacks == 'object' ? callbacks : undefined);
  }

  function sendConsent(consent: ConsentWire, details?: ConsentDetails): Promise<ConsentReply | undefined> {
    // Only these three from the caller; undefined ones are left out of the JSON.
    const { source, notice, explicit } = details || {};
    return enqueue(() => ({ ...pageContext('consent'), consent, source, notice, explicit }));
  }

  function consent(action: ConsentAction, details?: ConsentDetails): Promise<ConsentReply | undefined> {
    if (action != 'grant' && action != 'revoke') {
      warn('unknown consent action: ' + String(action));
      return nothing;
    }
    return sendConsent(action, details);
  }

  function optOut(): Promise<ConsentReply | undefined> {
    return sendConsent('object');
  }

  function onConsent(callback: ConsentCallback): void {
    if (typeof callback == 'function') listeners.push(callback);
    else warn('onConsent needs a function');
  }

  function command(...args: unknown[]): Promise<ConsentReply | undefined> | undefined {
    const [name, first, second] = args;
    try {
      switch (name) {
        case 'send': // mt('send', 'pageview', {fields}, {onload, onerror})
          return send(first as 'pageview', second as PageviewFields, args[3] as DeliveryCallbacks);
        case 'consent': // mt('consent', 'grant' | 'revoke', {source, notice, explicit}?)
          return consent(first as ConsentAction, second as ConsentDetails);
        case 'setCookieConsentGiven':
          return consent('grant');
        case 'forgetCookieConsentGiven':
          return consent('revoke');
        case 'optOut':
          return optOut();
        case 'onConsent': // mt('onConsent', function (reply) { ... })
          onConsent(first as ConsentCallback);
          return undefined;
        default:
          warn('unknown command: ' + String(name));
      }
    } catch (e) {
      // Never throw into the page.
    }
    return undefined;
  }

  return { send, consent, optOut, onConsent, command };
}
