/**
 * IAB TCF v2.2: `__tcfapi('addEventListener', 2, callback)`. Only two events are choices:
 * `tcloaded` (the choice the CMP held at load: not explicit) and `useractioncomplete` (the
 * visitor acted: explicit); `cmpuishown` is not. Where the GDPR does not apply, nothing is said.
 *
 * Granted when every purpose in `purposes` has consent (default [1, 8]: 1 "Store and/or
 * access information on a device" and 8 "Measure content performance") and, with
 * `vendor: <id>`, that vendor has consent too; without a vendor, the publisher's own consent
 * for those purposes decides (the site measures its own pages).
 * The source is `tcf:<cmpId>`; the notice is the TCF policy version.
 */
import { Bridge, Host, Options, Report, poll } from './kit.js';

const DEFAULT_PURPOSES = [1, 8];

function consents(tcData: Host, options: Options): boolean {
  const purposes = Array.isArray(options.purposes) ? (options.purposes as number[]) : DEFAULT_PURPOSES;
  const vendor = options.vendor;
  const has = (map: Host, id: unknown) => !!(map && map[id as number] === true);
  if (vendor != null) {
    const given = purposes.every((p) => has(tcData.purpose && tcData.purpose.consents, p));
    return given && has(tcData.vendor && tcData.vendor.consents, vendor);
  }
  return purposes.every((p) => has(tcData.publisher && tcData.publisher.consents, p));
}

export const tcf: Bridge = {
  detect: (win: Host) => typeof win.__tcfapi == 'function',
  start(win: Host, report: Report, options: Options): void {
    poll(win, () => {
      if (typeof win.__tcfapi != 'function') return false;
      win.__tcfapi('addEventListener', 2, (tcData: Host, success: boolean) => {
        if (!success || !tcData || tcData.gdprApplies === false) return;
        const status = tcData.eventStatus;
        if (status != 'tcloaded' && status != 'useractioncomplete') return;
        const version = tcData.tcfPolicyVersion;
        report(
          consents(tcData, options),
          status == 'useractioncomplete',
          'tcf:' + (tcData.cmpId | 0),
          version != null ? String(version) : undefined,
        );
      });
      return true;
    });
  },
};
