// qlikgate: the access-token window (see templates/accesstoken.html and
// web/accesstokenwindow.go). A portal on another site opened this window
// on qlikgate's own origin, where qlikgate's session cookie is first party
// even in a browser that blocks third-party cookies. The page hands the
// token to the portal and closes.
//
// postMessage's targetOrigin is the portal origin the server checked
// against the target's embed_origins: the browser delivers the message
// only if the opener's document is of exactly that origin, so a page of
// any other origin that opened this window receives nothing. Plain ES5,
// no dependencies, no inline script: the page's CSP needs only
// script-src 'self'.
(function () {
  'use strict';

  var root = document.getElementById('access-token-window');
  if (!root) {
    return;
  }
  var origin = root.dataset.origin;
  var token = root.dataset.token;
  var expiresAt = root.dataset.expiresAt;
  // Keep the token out of the DOM once read.
  root.removeAttribute('data-token');

  var opener = window.opener;
  if (!opener || !origin || !token) {
    document.getElementById('access-token-progress').hidden = true;
    document.getElementById('access-token-no-opener').hidden = false;
    return;
  }
  opener.postMessage({ type: 'qlikgate:access-token', access_token: token, expires_at: expiresAt }, origin);
  token = '';
  window.close();
})();
