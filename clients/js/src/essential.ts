/**
 * dist/mautic-essential.min.js, served as `/mautic-essential.js`: Mautic 7's script for before
 * consent. It installs the `MauticJS` runtime and the features a page needs before consent,
 * and nothing else: no tracking request, no identifier, no cookie or storage on the host site,
 * no credentialed request. Mautic's loader snippet dispatches `mauticEssentialReady` once this
 * file has loaded; the tracking add-on (`/mautic-tracking.js`) waits for it.
 *
 * Dynamic web content: the slot filler (src/dwc.ts, a separate module) plugs in here once it
 * exists; before consent it leaves each slot's default content in place and makes no request.
 */
import { runtimeInstall } from './runtime.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
runtimeInstall(window as any);
