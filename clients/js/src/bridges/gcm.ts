/**
 * Google Consent Mode v2: `gtag('consent', 'default' | 'update', {analytics_storage})`, that
 * is, entries pushed onto `window.dataLayer`. The entries already there are read in order, and
 * `push` is wrapped for later ones. `default` is the site's setting before any choice
 * (not explicit); `update` is the banner passing on the visitor's choice (explicit).
 * A default limited to some regions (`region: [...]`) is skipped: the page cannot tell where
 * the visitor is.
 */
import { Bridge, Host, Options, Report, safely } from './kit.js';

function consentCall(entry: Host): [string, Host] | null {
  // gtag pushes its `arguments` object; GTM users sometimes push a plain array.
  if (!entry || typeof entry != 'object' || entry[0] != 'consent') return null;
  const command = entry[1];
  const params = entry[2];
  if ((command != 'default' && command != 'update') || !params || typeof params != 'object') return null;
  return [command, params];
}

export const gcm: Bridge = {
  detect(win: Host): boolean {
    const layer = win.dataLayer;
    if (!layer || typeof layer.length != 'number') return false;
    for (let i = 0; i < layer.length; i++) if (consentCall(layer[i])) return true;
    return false;
  },
  start(win: Host, report: Report, options: Options): void {
    const key = String(options.storage || 'analytics_storage');
    const read = (entry: unknown) => {
      const call = consentCall(entry);
      if (!call) return;
      const [command, params] = call;
      const value = params[key];
      if (value != 'granted' && value != 'denied') return;
      if (command == 'default' && params.region) return;
      report(value == 'granted', command == 'update', 'gcm');
    };
    // gtag's own snippet does the same (`window.dataLayer = window.dataLayer || []`).
    const layer = (win.dataLayer = win.dataLayer || []);
    for (let i = 0; i < layer.length; i++) safely(() => read(layer[i]));
    const push = layer.push;
    layer.push = function (...entries: unknown[]) {
      const result = push.apply(this, entries);
      for (const entry of entries) safely(() => read(entry));
      return result;
    };
  },
};
