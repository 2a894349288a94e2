/**
 * What every bridge to a site's consent banner (a CMP) shares.
 *
 * A bridge reads the choice the banner holds at load and listens for the visitor's changes,
 * and reports each through the tracker's own consent command:
 *   mt('consent', 'grant' | 'revoke', { source, notice, explicit })
 * so it travels in order with every other call. `explicit` is true only when the banner says
 * the visitor acted; a state read at load is not a new choice. The server's gate decides what
 * follows (GPC, DNT and Do-Not-Contact still come first) and records a choice only when it
 * changes what this browser holds.
 *
 * Like the tracker, a bridge never reads or writes the host site's cookies or storage: it
 * asks each banner through the banner's own public API and events. It never throws.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Host = any;

/** Options a page gives with `mt('consentSource', name, options)`. */
export type Options = Record<string, unknown>;

/** Tell the tracker what the banner says. `granted` null: no choice yet, nothing to say. */
export type Report = (granted: boolean | null, explicit: boolean, source: string, notice?: string) => void;

export interface Bridge {
  /** Is this banner on the page (for `auto`)? */
  detect(win: Host): boolean;
  /** Read the state held at load, and listen for changes. */
  start(win: Host, report: Report, options: Options): void;
}

/** Run `f`; a banner's broken API must not break the page, nor the tracker. */
export function safely<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    return undefined;
  }
}

/**
 * A reporter over the page's `mt`: says nothing twice. The same answer again is dropped
 * (banners repeat their state on every load and every event), except that a visitor's explicit
 * answer still goes out after the same answer read at load: for a refusal it is the one the
 * server keeps.
 */
export function reporter(win: Host): Report {
  let last = '';
  return (granted, explicit, source, notice) => {
    if (granted === null) return;
    const action = granted ? 'grant' : 'revoke';
    if (last == action + true || (last == action + false && !explicit)) return;
    last = action + explicit;
    const mt = win[win.MauticTrackingObject || 'mt'];
    const details: Options = { source, explicit };
    if (notice) details.notice = String(notice).slice(0, 32);
    safely(() => mt('consent', action, details));
  };
}

/** Call `f` now and every `every` ms until it returns true or `tries` run out. */
export function poll(win: Host, f: () => boolean | undefined, every = 100, tries = 100): void {
  const tick = () => {
    if (!safely(f) && --tries > 0) win.setTimeout(tick, every);
  };
  tick();
}

/** Register `bridge` with the tracker that loaded it: it hands over the page's options. */
export function install(name: string, bridge: Bridge): void {
  const win: Host = window;
  const mt = win[win.MauticTrackingObject || 'mt'];
  if (typeof mt != 'function') return;
  const report = reporter(win);
  safely(() => mt('consentBridge', name, (options: Options) => safely(() => bridge.start(win, report, options || {}))));
}
