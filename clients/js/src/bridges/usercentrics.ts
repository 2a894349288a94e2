/**
 * Usercentrics (Browser UI v2, `window.UC_UI`). The service that stands for Consentry
 * (`service`, default "Consentry", as the site names it in its Usercentrics settings)
 * decides; without one, every service of the category `category` (default "marketing")
 * must be consented. At load, only an answer the visitor gave counts: the last entry of the
 * service's consent history is `explicit`. The `UC_UI_CMP_EVENT` window event with
 * ACCEPT_ALL, DENY_ALL or SAVE is the visitor acting.
 */
import { Bridge, Host, Options, Report, safely } from './kit.js';

interface Service {
  name?: string;
  categorySlug?: string;
  consent?: { status?: boolean; history?: { type?: string }[] };
}

export const usercentrics: Bridge = {
  detect: (win: Host) => !!win.UC_UI,
  start(win: Host, report: Report, options: Options): void {
    const name = String(options.service || 'Consentry');
    const category = String(options.category || 'marketing');
    const services = (): Service[] => {
      const all: Service[] = (safely(() => win.UC_UI.getServicesBaseInfo()) as Service[]) || [];
      const named = all.filter((s) => s.name == name);
      return named.length ? named : all.filter((s) => s.categorySlug == category);
    };
    const read = (explicit: boolean) => {
      const chosen = services();
      if (!chosen.length) return;
      if (!explicit) {
        const history = (chosen[0].consent && chosen[0].consent.history) || [];
        const last = history[history.length - 1];
        if (!last || last.type != 'explicit') return;
      }
      report(chosen.every((s) => !!(s.consent && s.consent.status)), explicit, 'usercentrics');
    };
    win.addEventListener('UC_UI_INITIALIZED', () => read(false));
    win.addEventListener('UC_UI_CMP_EVENT', (event: Host) => {
      const type = event && event.detail && event.detail.type;
      // Usercentrics fires this before it has stored the answer: read it on the next turn.
      if (type == 'ACCEPT_ALL' || type == 'DENY_ALL' || type == 'SAVE') win.setTimeout(() => read(true), 0);
    });
    if (win.UC_UI && safely(() => win.UC_UI.isInitialized())) read(false);
  },
};
