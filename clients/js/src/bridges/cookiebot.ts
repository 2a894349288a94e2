/**
 * Cookiebot: `Cookiebot.consent.statistics` once the visitor has answered
 * (`Cookiebot.hasResponse`), then the `CookiebotOnAccept` / `CookiebotOnDecline` window events.
 * Cookiebot fires those on every load for an earlier answer too; `Cookiebot.changed` says the
 * answer was given on this page, which is what makes it explicit.
 */
import { Bridge, Host, Report, poll } from './kit.js';

export const cookiebot: Bridge = {
  detect: (win: Host) => !!(win.Cookiebot && win.Cookiebot.consent),
  start(win: Host, report: Report): void {
    const read = () => {
      const bot = win.Cookiebot;
      if (!bot || !bot.consent || !bot.hasResponse) return;
      report(bot.consent.statistics === true, bot.changed === true, 'cookiebot');
    };
    win.addEventListener('CookiebotOnAccept', read);
    win.addEventListener('CookiebotOnDecline', read);
    poll(win, () => {
      read();
      return !!(win.Cookiebot && win.Cookiebot.consent);
    });
  },
};
