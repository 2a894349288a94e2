/**
 * vanilla-cookieconsent v3 (`window.CookieConsent`): the category `category` (default
 * "analytics"). Its `cc:onConsent` window event repeats the answer on every load (not
 * explicit); `cc:onFirstConsent` and `cc:onChange` are the visitor acting. The notice is the
 * site's consent revision, when it uses one.
 */
import { Bridge, Host, Options, Report, poll } from './kit.js';

export const cookieconsent: Bridge = {
  detect: (win: Host) => !!(win.CookieConsent && typeof win.CookieConsent.acceptedCategory == 'function'),
  start(win: Host, report: Report, options: Options): void {
    const category = String(options.category || 'analytics');
    const read = (explicit: boolean) => {
      const cc = win.CookieConsent;
      if (!cc || !cc.validConsent()) return;
      const revision = cc.getCookie('revision');
      report(cc.acceptedCategory(category), explicit, 'cookieconsent', revision ? String(revision) : undefined);
    };
    win.addEventListener('cc:onFirstConsent', () => read(true));
    win.addEventListener('cc:onChange', () => read(true));
    win.addEventListener('cc:onConsent', () => read(false));
    poll(win, () => {
      if (!cookieconsent.detect(win)) return false;
      read(false);
      return true;
    });
  },
};
