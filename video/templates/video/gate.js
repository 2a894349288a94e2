/* Consentry video player script (/video/gate.js).
 *
 * For every <video> on the page that Mautic's markup marks (data-form-id and data-gate-time,
 * or data-mautic-video) or that the operator configured by its address, it reports each play
 * to /video/hit as Mautic's player does (guid, url, duration, total_watched), and shows the
 * video's gate form at its second, over the player, letting the video play on once the form
 * is submitted.
 *
 * It writes no cookie and no storage: a submitted gate is remembered for this page view only
 * (Mautic's player kept a cookie for it). The server's gate decides whether a play is tied to
 * a person. No eval, no inline script or style attribute: it runs under a strict CSP.
 */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.fetch || !window.FormData) { return; }
  var base = new URL(me.src, location.href).origin;
  var REPORT_MS = 3000;
  var MESSAGE_MS = 1500;

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function sourceOf(video) {
    if (video.currentSrc) { return video.currentSrc; }
    if (video.src) { return video.src; }
    var source = video.querySelector("source[src]");
    return source ? new URL(source.getAttribute("src"), location.href).href : "";
  }

  function Player(video) {
    this.video = video;
    this.url = sourceOf(video);
    this.play = null; // {guid, watched, sent}
    this.gate = null; // {form, seconds, script}
    this.passed = false;
    this.overlay = null;
  }

  Player.prototype.report = function (final) {
    var play = this.play;
    if (!play || play.watched <= 0 || (play.sent === play.watched && !final)) { return; }
    play.sent = play.watched;
    var body = new URLSearchParams({
      guid: play.guid,
      url: this.url,
      duration: String(this.video.duration),
      total_watched: String(play.watched)
    });
    fetch(base + "/video/hit", { method: "POST", body: body, credentials: "include", keepalive: !!final })
      .catch(function () { /* the next report carries the same play */ });
  };

  Player.prototype.showGate = function () {
    var self = this, video = this.video, gate = this.gate;
    video.pause();
    if (this.overlay) { return; }
    var overlay = document.createElement("div");
    overlay.className = "consentry-video-gate";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-label", "Form");
    var style = overlay.style;
    style.position = "absolute";
    style.left = video.offsetLeft + "px";
    style.top = video.offsetTop + "px";
    style.width = video.offsetWidth + "px";
    style.minHeight = video.offsetHeight + "px";
    style.boxSizing = "border-box";
    style.padding = "1rem";
    style.overflow = "auto";
    style.background = "rgba(255,255,255,0.96)";
    style.zIndex = "2147483000";
    var slot = document.createElement("div");
    overlay.appendChild(slot);
    var parent = video.offsetParent || document.body;
    if (parent === document.body) {
      var rect = video.getBoundingClientRect();
      style.left = (rect.left + window.scrollX) + "px";
      style.top = (rect.top + window.scrollY) + "px";
    }
    parent.appendChild(overlay);
    this.overlay = overlay;
    // The form's own embed script puts the form into this slot (see /form/generate.js).
    window.ConsentryFormSlots = window.ConsentryFormSlots || {};
    window.ConsentryFormSlots[gate.form] = slot;
    // The gate sends the form itself, to know when the video may play on; the form's own
    // handler never sees the submit.
    overlay.addEventListener("submit", function (event) {
      event.preventDefault();
      event.stopPropagation();
      self.submit(event.target);
    }, true);
    var script = document.createElement("script");
    script.src = gate.script;
    script.async = true;
    document.head.appendChild(script);
  };

  Player.prototype.submit = function (form) {
    var self = this;
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    function say(text) {
      var box = form.querySelector(".consentry-message");
      if (box) { box.textContent = text || ""; }
    }
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "include",
                         headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (body.ok) {
          self.passed = true;
          say(body.message);
          setTimeout(function () { self.hideGate(); }, body.message ? MESSAGE_MS : 0);
          return;
        }
        Array.prototype.forEach.call(form.querySelectorAll(".consentry-error[data-for]"), function (el) {
          el.textContent = (body.fields && body.fields[el.getAttribute("data-for")]) || "";
        });
        say(body.detail);
      })
      .catch(function () { say("Sorry, the form could not be sent. Please try again."); })
      .then(function () { if (button) { button.disabled = false; } });
  };

  Player.prototype.hideGate = function () {
    if (this.overlay && this.overlay.parentNode) { this.overlay.parentNode.removeChild(this.overlay); }
    this.overlay = null;
    var playing = this.video.play();
    if (playing && playing.catch) { playing.catch(function () { /* the visitor presses play */ }); }
  };

  Player.prototype.gated = function () {
    return this.gate && !this.passed && this.video.currentTime >= this.gate.seconds;
  };

  Player.prototype.start = function () {
    var self = this, video = this.video;
    video.addEventListener("timeupdate", function () {
      var now = video.currentTime;
      if (now > 0) {
        if (!self.play) { self.play = { guid: uuid(), watched: 0, sent: 0 }; }
        self.play.watched = Math.floor(now);
      }
      if (self.gated()) { self.showGate(); }
    });
    video.addEventListener("play", function () { if (self.gated()) { self.showGate(); } });
    video.addEventListener("pause", function () { self.report(false); });
    video.addEventListener("ended", function () {
      self.report(true);
      self.play = null; // the next play is a new one, as in Mautic's player
    });
    window.addEventListener("pagehide", function () { self.report(true); });
    setInterval(function () { self.report(false); }, REPORT_MS);
    if (this.gate && this.gate.seconds === 0 && !this.passed) { this.showGate(); }
  };

  function attach(video) {
    var player = new Player(video);
    var data = video.dataset;
    var marked = !!(data.formId || data.mauticVideo);
    function begin(gate) {
      if (gate) { player.gate = gate; }
      else if (data.formId && /^\d+$/.test(data.formId)) {
        player.gate = {
          form: parseInt(data.formId, 10),
          seconds: Math.max(parseInt(data.gateTime, 10) || 0, 0),
          script: base + "/form/generate.js?id=" + data.formId
        };
      }
      if (gate || marked) { player.start(); }
    }
    if (!/^https?:/.test(player.url)) { return; }
    // The operator's gate for this address wins over the page's own data attributes.
    fetch(base + "/video/gate?url=" + encodeURIComponent(player.url), { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : { gate: null }; })
      .then(function (body) { begin(body.gate); })
      .catch(function () { begin(null); });
  }

  function init() { Array.prototype.forEach.call(document.querySelectorAll("video"), attach); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
