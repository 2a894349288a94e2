/*! @consentry/tracker | AGPL-3.0-or-later */

// src/core.ts
var host = globalThis;
var RETRY_DELAY_MS = 1e3;
function warn(message) {
  if (host.console && host.console.warn) host.console.warn("[consentry] " + message);
}
function guard(f) {
  try {
    f();
  } catch (e) {
  }
}
function dispatch(name, detail) {
  const doc = host.document;
  if (!doc || !doc.dispatchEvent || typeof host.CustomEvent != "function") return;
  guard(() => doc.dispatchEvent(new host.CustomEvent(name, { detail })));
}
function uuid() {
  const crypto = host.crypto;
  if (crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (crypto && crypto.getRandomValues) {
    crypto.getRandomValues(bytes);
  } else {
    for (let i = 0; i < 16; i++) bytes[i] = Math.random() * 256;
  }
  bytes[6] = bytes[6] & 15 | 64;
  bytes[8] = bytes[8] & 63 | 128;
  let out = "";
  for (let i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += "-";
    out += (bytes[i] + 256).toString(16).slice(1);
  }
  return out;
}
function pageContext(type) {
  const doc = host.document || {};
  const loc = host.location || {};
  return {
    type,
    id: uuid(),
    page_url: loc.href,
    page_title: doc.title,
    page_referrer: doc.referrer,
    gpc: gpc()
  };
}
function gpc() {
  return (host.navigator || {}).globalPrivacyControl === true;
}
function wellFormed(value) {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 55296 && code <= 56319) {
      const next = value.charCodeAt(i + 1);
      if (next >= 56320 && next <= 57343) {
        out += value[i] + value[i + 1];
        i++;
      } else {
        out += "\uFFFD";
      }
    } else if (code >= 56320 && code <= 57343) {
      out += "\uFFFD";
    } else if (code < 32 && code != 9 && code != 10 && code != 13 || code == 127) {
    } else {
      out += value[i];
    }
  }
  return out;
}
function wellFormedValue(_key, value) {
  return typeof value == "string" ? wellFormed(value) : value;
}
function toQuery(payload) {
  const parts = [];
  for (const key in payload) {
    const value = payload[key];
    if (value != null) parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(wellFormed(String(value))));
  }
  return parts.join("&");
}
function createTracker(options) {
  const base = String(options.baseUrl || "").replace(/\/+$/, "");
  const endpoint = base + "/mtc/event";
  const listeners = [];
  let hinted;
  const nothing = Promise.resolve(void 0);
  let chain = nothing;
  function post(body, isRetry) {
    return nothing.then(
      () => host.fetch(endpoint, {
        method: "POST",
        credentials: "include",
        // the tracker's own cookies, on the tracker's own origin
        keepalive: true,
        // survives the page being unloaded right after a call
        // text/plain keeps this a CORS "simple request": no preflight round trip.
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body
      })
    ).catch(() => {
      if (isRetry) return void 0;
      return new Promise((resume) => setTimeout(resume, RETRY_DELAY_MS)).then(() => post(body, true));
    });
  }
  function deliver(payload, event, callbacks) {
    const detail = { event: event || [], params: payload };
    if (!host.fetch) {
      if (payload.type == "pageview" && host.Image) {
        const image = new host.Image();
        image.onload = () => settled(true, detail, callbacks);
        image.onerror = () => settled(false, detail, callbacks);
        image.src = base + "/mtracking.gif?" + toQuery(payload);
      } else {
        warn("this browser cannot send " + payload.type);
      }
      return nothing;
    }
    let ok = false;
    return post(JSON.stringify(payload, wellFormedValue)).then((response) => {
      ok = !!response && response.ok !== false;
      return response && response.json();
    }).then((reply) => {
      if (!reply || typeof reply != "object" || !("consent" in reply)) {
        settled(false, detail, callbacks);
        return void 0;
      }
      if (reply.hint && !hinted) warn(hinted = reply.hint);
      for (const listener of listeners.slice()) guard(() => listener(reply));
      detail.response = reply;
      settled(ok, detail, callbacks);
      return ok ? reply : void 0;
    }).catch(() => settled(false, detail, callbacks));
  }
  function settled(ok, detail, callbacks) {
    const callback = callbacks && (ok ? callbacks.onload : callbacks.onerror);
    if (typeof callback == "function") guard(() => callback(detail));
    if (ok && detail.params.type == "pageview") dispatch("mauticPageEventDelivered", detail);
    return void 0;
  }
  function enqueue(build, event, callbacks) {
    let payload;
    try {
      payload = build();
    } catch (e) {
      return nothing;
    }
    const done = chain.then(() => deliver(payload, event, callbacks));
    chain = done;
    return done;
  }
  function send(type, fields, callbacks) {
    if (type != "pageview") {
      warn("unknown hit type: " + String(type));
      return nothing;
    }
    const event = ["send", type];
    if (fields !== void 0 || callbacks !== void 0) event.push(fields);
    if (callbacks !== void 0) event.push(callbacks);
    return enqueue(() => {
      const context = pageContext("pageview");
      const screen = host.screen;
      const payload = {
        ...context,
        page_language: (host.navigator || {}).language,
        resolution: screen ? screen.width + "x" + screen.height : void 0
      };
      if (fields && typeof fields == "object") Object.assign(payload, fields);
      payload.type = context.type;
      payload.id = context.id;
      payload.gpc = context.gpc;
      return payload;
    }, event, callbacks && typeof callbacks == "object" ? callbacks : void 0);
  }
  function sendConsent(consent2, details) {
    const { source, notice, explicit } = details || {};
    return enqueue(() => ({ ...pageContext("consent"), consent: consent2, source, notice, explicit }));
  }
  function consent(action, details) {
    if (action != "grant" && action != "revoke") {
      warn("unknown consent action: " + String(action));
      return nothing;
    }
    return sendConsent(action, details);
  }
  function optOut() {
    return sendConsent("object");
  }
  function onConsent(callback) {
    if (typeof callback == "function") listeners.push(callback);
    else warn("onConsent needs a function");
  }
  function command(...args) {
    const [name, first, second] = args;
    try {
      switch (name) {
        case "send":
          return send(first, second, args[3]);
        case "consent":
          return consent(first, second);
        case "setCookieConsentGiven":
          return consent("grant");
        case "forgetCookieConsentGiven":
          return consent("revoke");
        case "optOut":
          return optOut();
        case "onConsent":
          onConsent(first);
          return void 0;
        default:
          warn("unknown command: " + String(name));
      }
    } catch (e) {
    }
    return void 0;
  }
  return { send, consent, optOut, onConsent, command };
}
export {
  createTracker,
  wellFormed
};
