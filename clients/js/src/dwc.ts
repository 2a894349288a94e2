// Dynamic web content: fills the page's Mautic slots,
//   <div data-slot="dwc" data-param-slot-name="hero">Default text</div>
// (and Mautic's older `.mautic-slot` / `data-slot-name` markup) from the tracker's /dwc
// endpoints. The server's gate decides what each visitor gets: the slot's default item
// without a permit, a personalised variant only for a known contact with one.

/** What fillDynamicContent needs; everything else comes from the page. */
export interface DynamicContentOptions {
  /** The tracker's origin, e.g. "https://t.example.com" (a trailing slash is ignored). */
  baseUrl: string;
  /** Where to look for slots; the whole document by default. */
  root?: ParentNode;
}

const SLOTS = '.mautic-slot, [data-slot="dwc"]';
// Slot names the server accepts; anything else is left alone without a request.
const NAME = /^[A-Za-z0-9_.-]{1,100}$/;
// Elements and attributes that could run code or load a page: the server already removed
// them; removing them again here costs nothing and keeps a bad deployment from harming the
// host page.
const UNSAFE = 'script, iframe, object, embed, style, link, meta, base, form, frame, frameset';

function slotName(node: HTMLElement): string | undefined {
  const name = node.dataset['slotName'] ?? node.dataset['paramSlotName'];
  return name !== undefined && NAME.test(name) ? name : undefined;
}

function render(node: HTMLElement, html: string): void {
  // A <template>'s content is parsed inert: nothing in it runs or loads while it is cleaned.
  const template = document.createElement('template');
  template.innerHTML = html;
  for (const bad of Array.from(template.content.querySelectorAll(UNSAFE))) bad.remove();
  for (const element of Array.from(template.content.querySelectorAll('*'))) {
    for (const attribute of Array.from(element.attributes)) {
      const value = attribute.value.replace(/[\s\u0000-\u001f]+/g, '').toLowerCase();
      if (/^on/i.test(attribute.name) || value.startsWith('javascript:') || value.startsWith('data:')) {
        element.removeAttribute(attribute.name);
      }
    }
  }
  node.replaceChildren(...Array.from(template.content.childNodes));
}

async function ask(url: string): Promise<unknown> {
  // The tracker's own cookies go with the request, on the tracker's origin; the gate there
  // reads them. Nothing is read from or written to the host page's storage.
  const response = await fetch(url, { method: 'GET', credentials: 'include' });
  if (response.status === 204 || !response.ok) return undefined;
  return response.json();
}

/**
 * Fill the page's dynamic-content slots; resolves to the number of slots filled.
 *
 * Call it ONLY from the tracking part of the script (legacy /mtc.js, or
 * /mautic-tracking.js once the visitor consented), before or beside the first pageview, as
 * Mautic does (`MauticJS.beforeFirstEventDelivery`). Never from /mautic-essential.js: before
 * consent the page's default content stays and the essential script makes no request.
 *
 * One slot is asked at Mautic's own `/dwc/{slot}`; several in one `/dwc?slot=a&slot=b`. A
 * slot the server has nothing for (204, null), an unknown name, or a failed request keeps
 * its default content; nothing throws. Each slot is filled once, however often this runs.
 * The answer's HTML was sanitised by the server and is parsed inert and cleaned again here
 * before it replaces the slot's children.
 */
export async function fillDynamicContent(options: DynamicContentOptions): Promise<number> {
  const base = String(options.baseUrl || '').replace(/\/+$/, '');
  const root: ParentNode = options.root ?? document;
  const slots = new Map<string, HTMLElement[]>();
  for (const node of Array.from(root.querySelectorAll<HTMLElement>(SLOTS))) {
    const name = slotName(node);
    if (name === undefined || node.dataset['dwcFilled'] !== undefined) continue;
    slots.set(name, [...(slots.get(name) ?? []), node]);
  }
  const names = Array.from(slots.keys()).slice(0, 20);
  if (!base || names.length === 0) return 0;
  const gpc = navigator.globalPrivacyControl === true ? 'gpc=1' : '';
  let contents: Record<string, unknown> = {};
  try {
    if (names.length === 1) {
      const [name] = names as [string];
      const url = `${base}/dwc/${encodeURIComponent(name)}${gpc ? '?' + gpc : ''}`;
      const answer = (await ask(url)) as { content?: unknown } | undefined;
      contents = { [name]: answer?.content };
    } else {
      const query = names.map((n) => 'slot=' + encodeURIComponent(n)).concat(gpc ? [gpc] : []);
      const answer = (await ask(`${base}/dwc?${query.join('&')}`)) as
        | { slots?: Record<string, unknown> }
        | undefined;
      contents = answer?.slots ?? {};
    }
  } catch {
    return 0; // offline, blocked or refused: the page keeps its defaults
  }
  let filled = 0;
  for (const name of names) {
    const html = contents[name];
    if (typeof html !== 'string' || html === '') continue;
    for (const node of slots.get(name) ?? []) {
      render(node, html);
      node.dataset['dwcFilled'] = '';
      filled += 1;
    }
  }
  return filled;
}

declare global {
  interface Navigator {
    globalPrivacyControl?: boolean;
  }
}
