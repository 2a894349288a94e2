/**
 * The `MauticJS` global: the members Mautic documents for integrators (developer docs,
 * "MauticJS API functions"), written anew for Consentry.
 *
 * What Mautic's members did with the host site's storage is gone by construction:
 *  - `setTrackedContact` is a no-op: Mautic wrote `mtc_id` and `mautic_device_id` into the
 *    page's cookies and localStorage; here identity lives only in the tracker's own signed
 *    cookie, written by the server's consent gate;
 *  - `appendTrackedContact` returns the data unchanged (Mautic read those ids back);
 *  - there is no `setCookie`: a member that writes the host site's cookies must not exist.
 *
 * The runtime makes no request by itself. `trackingEnabled` and `requestWithCredentials` are
 * false until the tracking add-on (`/mautic-tracking.js` or the legacy `/mtc.js`) arrives.
 */
import { dispatch, guard } from './core.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export interface MauticRuntime {
  runtimeReady: boolean;
  trackingEnabled: boolean;
  requestWithCredentials: boolean;
  serialize(data: unknown): string;
  documentReady(f: () => void): void;
  iterateCollection(collection: ArrayLike<unknown>): (f: (node: unknown, i: number) => void) => void;
  log(...args: unknown[]): void;
  parseTextToJSON(text: string): unknown;
  insertScript(url: string): void;
  guid(): string;
  dispatchEvent(name: string, detail?: unknown): void;
  createCORSRequest(method: string, url: string): XMLHttpRequest;
  makeCORSRequest(
    method: string,
    url: string,
    data?: unknown,
    onSuccess?: (response: unknown, xhr: XMLHttpRequest) => void,
    onError?: (response: unknown, xhr: XMLHttpRequest) => void,
  ): void;
  appendTrackedContact<T>(data: T): T;
  setTrackedContact(response?: unknown): void;
  beforeFirstEventDelivery(f: (params: unknown) => void): void;
  /** Runs (once) the hooks registered with beforeFirstEventDelivery. */
  runBeforeFirstDelivery(params: unknown): void;
  onFirstEventDelivery(f: (detail: unknown) => void): void;
}

/**
 * Install (or complete) `window.MauticJS` and return it. A second script on the same page
 * (essential, then tracking) keeps the same object, so a page's references stay valid.
 */
export function runtimeInstall(win: Any): MauticRuntime {
  const m: Any = (win.MauticJS = win.MauticJS || {});
  if (m.runtimeReady === true) return m;
  const doc: Any = win.document;

  m.serialize = (data: Any): string => {
    if (typeof data == 'string') return data;
    return Object.keys(data || {})
      .map((key) => encodeURIComponent(key) + '=' + encodeURIComponent(data[key]))
      .join('&');
  };
  m.documentReady = (f: () => void): void => {
    if (doc.readyState == 'loading') doc.addEventListener('DOMContentLoaded', () => guard(f));
    else guard(f);
  };
  m.iterateCollection = (collection: ArrayLike<unknown>) => (f: (node: unknown, i: number) => void) => {
    for (let i = 0; collection[i]; i++) f(collection[i], i);
  };
  m.log = (...args: unknown[]): void => {
    if (win.console && win.console.log) win.console.log(args);
  };
  m.parseTextToJSON = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (e) {
      return text;
    }
  };
  m.insertScript = (url: string): void => {
    const script = doc.createElement('script');
    script.async = true;
    script.src = url;
    (doc.head || doc.body).appendChild(script);
  };
  m.guid = (): string => {
    const part = () => Math.floor((1 + Math.random()) * 0x10000).toString(16).substring(1);
    return part() + part() + '-' + part() + '-' + part() + '-' + part() + '-' + part() + part() + part();
  };
  m.dispatchEvent = dispatch;
  m.createCORSRequest = (method: string, url: string): XMLHttpRequest => {
    const xhr = new win.XMLHttpRequest();
    xhr.open(String(method).toUpperCase(), url, true);
    return xhr;
  };
  m.makeCORSRequest = (method: string, url: string, data: unknown, onSuccess?: Any, onError?: Any): void => {
    const verb = String(method).toUpperCase();
    const query = m.serialize(data || {});
    const xhr = m.createCORSRequest(verb, verb == 'GET' && query ? url + (url.indexOf('?') < 0 ? '?' : '&') + query : url);
    // Before the tracking add-on, requests carry no cookie: no identifier leaves the browser.
    xhr.withCredentials = m.requestWithCredentials === true;
    if (verb == 'POST') xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
    xhr.onreadystatechange = () => {
      if (xhr.readyState != 4) return;
      const response = m.parseTextToJSON(xhr.responseText);
      const callback = xhr.status >= 200 && xhr.status < 300 ? onSuccess : onError;
      if (typeof callback == 'function') guard(() => callback(response, xhr));
    };
    xhr.send(verb == 'GET' ? null : query);
  };
  m.appendTrackedContact = <T>(data: T): T => data;
  m.setTrackedContact = (): void => undefined;

  // Mautic's delivery hooks: before the first pageview leaves, and after it was delivered.
  const before: Any[] = [];
  const after: Any[] = [];
  m.beforeFirstEventDelivery = (f: Any): void => {
    if (typeof f == 'function') before.push(f);
  };
  m.onFirstEventDelivery = (f: Any): void => {
    if (typeof f == 'function') after.push(f);
  };
  m.runBeforeFirstDelivery = (params: unknown): void => {
    while (before.length) {
      const f = before.shift();
      guard(() => f(params));
    }
  };
  if (doc && doc.addEventListener) {
    doc.addEventListener('mauticPageEventDelivered', (e: Any) => {
      while (after.length) {
        const f = after.shift();
        guard(() => f(e.detail));
      }
    });
  }

  if (m.trackingEnabled !== true) m.trackingEnabled = false;
  if (m.requestWithCredentials !== true) m.requestWithCredentials = false;
  m.runtimeReady = true;
  return m;
}
