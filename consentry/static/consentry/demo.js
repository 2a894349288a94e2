// The embed snippet a site owner pastes, followed by a tiny consent banner wired to the
// script's consent commands. The banner stores nothing itself: the tracker's server does.
(function (w, d, t, u, n, a, m) {
  w['MauticTrackingObject'] = n;
  w[n] = w[n] || function () { (w[n].q = w[n].q || []).push(arguments); };
  a = d.createElement(t); m = d.getElementsByTagName(t)[0];
  a.async = 1; a.src = u; m.parentNode.insertBefore(a, m);
})(window, document, 'script', '/mtc.js', 'mt');
mt('send', 'pageview');

document.addEventListener('DOMContentLoaded', function () {
  var state = document.getElementById('state');
  function show(s) { state.textContent = s && s.consent ? s.consent : 'no choice'; }
  mt('onConsent', show);
  document.getElementById('grant').addEventListener('click', function () { mt('consent', 'grant'); });
  document.getElementById('revoke').addEventListener('click', function () { mt('consent', 'revoke'); });
  document.getElementById('optout').addEventListener('click', function () { mt('optOut'); });
});
