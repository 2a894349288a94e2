/**
 * dist/dwc.min.js, served as `/mtc-dwc.js`: the dynamic-content slot filler (src/dwc.ts). The
 * tracking script loads it only when the page has slots, so the core stays small, and never
 * before consent: the essential script (`/mautic-essential.js`) does not load it, and a page's
 * default content stays until then.
 */
import { fillDynamicContent } from './dwc.js';

const current = document.currentScript as HTMLScriptElement | null;
// The tracker's base is where this file was served from (`…/mtc-dwc.js`, or its /index.php/ twin).
const base = current && current.src ? current.src.replace(/\/mtc-dwc\.js(?:[?#].*)?$/, '') : '';
if (base) void fillDynamicContent({ baseUrl: base });
