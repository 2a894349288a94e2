/**
 * @consentry/tracker: the ESM entry point, for sites that bundle their JavaScript.
 *
 *   import { createTracker } from '@consentry/tracker';
 *   const tracker = createTracker({ baseUrl: 'https://t.example.com' });
 *   tracker.onConsent((reply) => console.log(reply.consent));
 *   tracker.send('pageview');
 *
 * The same core also builds dist/mtc.min.js, the script behind the classic `mt(...)` snippet.
 */
export { createTracker, wellFormed } from './core.js';
export type {
  ConsentAction,
  ConsentCallback,
  ConsentDetails,
  ConsentReply,
  ConsentState,
  DeliveryCallbacks,
  DeliveryDetail,
  PageviewFields,
  Tracker,
  TrackerOptions,
} from './core.js';
