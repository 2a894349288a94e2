// The embed snippet as an external file, for pages whose Content-Security-Policy forbids
// inline script: <script src="/static/consentry/embed.js" data-src="/mtc.js" defer></script>
(function (me) {
  var src = (me && me.getAttribute('data-src')) || '/mtc.js';
  (function (w, d, t, u, n, a, m) {
    w['MauticTrackingObject'] = n;
    w[n] = w[n] || function () { (w[n].q = w[n].q || []).push(arguments); };
    a = d.createElement(t); m = d.getElementsByTagName(t)[0];
    a.async = 1; a.src = u; m.parentNode.insertBefore(a, m);
  })(window, document, 'script', src, 'mt');
  mt('send', 'pageview');
})(document.currentScript);
