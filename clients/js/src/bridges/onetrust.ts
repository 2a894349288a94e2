/**
 * OneTrust: the performance group (`C0002`, or `group`) in `OnetrustActiveGroups`. OneTrust
 * calls the page's `OptanonWrapper` when it is ready and after each change; it is chained, not
 * replaced. At load, only an answer the visitor gave (`OneTrust.IsAlertBoxClosed()`) is a
 * choice; the groups active before that are the site's defaults. `OneTrust.OnConsentChanged`
 * is the visitor acting (explicit).
 */
import { Bridge, Host, Options, Report, safely } from './kit.js';

export const onetrust: Bridge = {
  detect: (win: Host) => !!(win.OneTrust || win.Optanon),
  start(win: Host, report: Report, options: Options): void {
    const group = String(options.group || 'C0002');
    const granted = () => String(win.OnetrustActiveGroups || '').split(',').indexOf(group) >= 0;
    let listening = false;
    const ready = () => {
      const api = win.OneTrust;
      if (!api) return;
      if (!listening && typeof api.OnConsentChanged == 'function') {
        listening = true;
        api.OnConsentChanged(() => report(granted(), true, 'onetrust'));
      }
      if (typeof api.IsAlertBoxClosed == 'function' && api.IsAlertBoxClosed()) {
        report(granted(), false, 'onetrust');
      }
    };
    const previous = win.OptanonWrapper;
    win.OptanonWrapper = function (this: unknown, ...args: unknown[]) {
      safely(ready);
      if (typeof previous == 'function') return previous.apply(this, args);
    };
    safely(ready);
  },
};
