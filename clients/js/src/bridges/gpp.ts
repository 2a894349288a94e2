/**
 * IAB GPP 1.1: `__gpp('addEventListener', callback)`. The US sections (usnat and the state
 * sections, and the older uspv1 string) carry opt-outs, not consents: a visitor who opted out
 * of sale, sharing or targeted advertising has refused to be identified, so any of those
 * opt-outs is reported as a refusal. No opt-out is not a grant: nothing is said then.
 * A `sectionChange` event is the visitor acting (explicit); the state when the signal
 * becomes ready is not. The source is `gpp:<cmpId>`.
 */
import { Bridge, Host, Report, poll } from './kit.js';

/** Any US section says "opted out" (1 = opted out, 2 = did not, 0 = not applicable). */
function optedOut(sections: Host): boolean {
  for (const name in sections || {}) {
    if (name == 'uspv1') {
      // "1YYN": the third character is the opt-out of sale.
      const value = sections[name];
      const text = typeof value == 'string' ? value : value && value.uspString;
      if (typeof text == 'string' && text.charAt(2) == 'Y') return true;
      continue;
    }
    if (name.slice(0, 2) != 'us') continue;
    const parts = Array.isArray(sections[name]) ? sections[name] : [sections[name]];
    for (const part of parts) {
      for (const field in part || {}) {
        if (/OptOut$/.test(field) && part[field] === 1) return true;
      }
    }
  }
  return false;
}

export const gpp: Bridge = {
  detect: (win: Host) => typeof win.__gpp == 'function',
  start(win: Host, report: Report): void {
    poll(win, () => {
      if (typeof win.__gpp != 'function') return false;
      win.__gpp('addEventListener', (event: Host, success: boolean) => {
        const ping = event && event.pingData;
        if (!success || !ping || ping.signalStatus != 'ready') return;
        if (optedOut(ping.parsedSections)) {
          report(false, event.eventName == 'sectionChange', 'gpp:' + (ping.cmpId | 0));
        }
      });
      return true;
    });
  },
};
