/**
 * `auto`: whichever banner the page runs. The named banners come first (they often feed
 * Consent Mode or TCF as well, and say more), then TCF, GPP, and Consent Mode last, taken only
 * once the page has loaded and nothing better appeared. One bridge is started, once; the
 * page's options go to it.
 */
import { cookiebot } from './cookiebot.js';
import { cookieconsent } from './cookieconsent.js';
import { gcm } from './gcm.js';
import { gpp } from './gpp.js';
import { Bridge, Host, Options, Report, poll } from './kit.js';
import { klaro } from './klaro.js';
import { onetrust } from './onetrust.js';
import { tcf } from './tcf.js';
import { usercentrics } from './usercentrics.js';

const ORDER: Bridge[] = [cookiebot, onetrust, usercentrics, klaro, cookieconsent, tcf, gpp];

export const auto: Bridge = {
  detect: (win: Host) => ORDER.some((bridge) => bridge.detect(win)) || gcm.detect(win),
  start(win: Host, report: Report, options: Options): void {
    // Banners load asynchronously: look for ten seconds.
    poll(
      win,
      () => {
        const found = ORDER.filter((bridge) => bridge.detect(win))[0];
        const last = win.document.readyState == 'complete' && gcm.detect(win) ? gcm : undefined;
        const bridge = found || last;
        if (bridge) bridge.start(win, report, options);
        return !!bridge;
      },
      100,
      100,
    );
  },
};
