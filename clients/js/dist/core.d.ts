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
/** Run a page's function; a broken callback must not break the tracker, nor the page. */
export declare function guard(f: () => unknown): void;
/** Mautic's `MauticJS.dispatchEvent`: a CustomEvent on the document, with `detail`. */
export declare function dispatch(name: string, detail?: unknown): void;
/**
 * A string the server accepts: lone surrogates (a title cut in the middle of an emoji) become
 * U+FFFD, as a UTF-8 encoder would make them, and control characters other than tab and line
 * breaks are dropped. The server refuses a request that holds either, so a page whose title
 * holds one would otherwise not be counted at all.
 */
export declare function wellFormed(value: string): string;
export declare function createTracker(options: TrackerOptions): Tracker;
