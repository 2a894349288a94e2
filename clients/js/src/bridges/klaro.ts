/**
 * Klaro: its consent manager's watcher, not the one-line `callback`. Klaro calls a service's
 * callback with `false` when it starts, before the visitor has chosen anything; that is no
 * refusal. So at load only a confirmed manager (the visitor answered on an earlier page) is
 * read, and the watcher's `saveConsents` is the visitor acting (its type is not `script`).
 * The service `service` (default "consentry", as named in the site's Klaro config) decides;
 * without one, every service whose purposes include "analytics" or "statistics".
 */
import { Bridge, Host, Options, Report, poll } from './kit.js';

interface Service {
  name: string;
  purposes?: string[];
}

export const klaro: Bridge = {
  detect: (win: Host) => !!(win.klaro && typeof win.klaro.getManager == 'function'),
  start(win: Host, report: Report, options: Options): void {
    const wanted = String(options.service || 'consentry');
    poll(win, () => {
      if (!klaro.detect(win)) return false;
      const config = win[String(options.config || 'klaroConfig')];
      const manager = win.klaro.getManager(config);
      const all: Service[] = (manager.config && manager.config.services) || [];
      let services = all.filter((s) => s.name == wanted);
      if (!services.length) {
        services = all.filter((s) => (s.purposes || []).some((p) => p == 'analytics' || p == 'statistics'));
      }
      if (!services.length) return true;
      const granted = () => services.every((s) => manager.getConsent(s.name) === true);
      manager.watch({
        update(_manager: unknown, name: string, data: Host) {
          if (name == 'saveConsents') report(granted(), !(data && data.type == 'script'), 'klaro');
        },
      });
      if (manager.confirmed) report(granted(), false, 'klaro');
      return true;
    });
  },
};
