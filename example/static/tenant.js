// The tenant app's script: sign in through the JSON API and keep the bearer
// token in sessionStorage (per tab), then call the API with it. On a signed-in
// page it runs before warning.js, which it points at the tab's own token.
(function () {
  'use strict';

  // channelKey is where the tab keeps, next to its token, the name of the
  // channel that the tabs of that token share (warning.js's data-channel).
  function channelKey(tokenKey) { return tokenKey + ':channel'; }
  function randomID() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }

  // Sign-in page: POST /t/{tenant}/api/login, keep the token, go to the app.
  var form = document.getElementById('signin-form');
  if (form) {
    var key = form.dataset.tokenKey;
    // Arriving here means the session is over: forget its token.
    try {
      sessionStorage.removeItem(key);
      sessionStorage.removeItem(channelKey(key));
    } catch (e) { /* storage blocked */ }
    var errorBox = document.getElementById('signin-error');
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      errorBox.hidden = true;
      fetch('/t/' + encodeURIComponent(form.dataset.tenantSlug) + '/api/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({
          email: form.elements.email.value,
          password: form.elements.password.value
        })
      }).then(function (res) {
        return res.json().then(function (body) { return { res: res, body: body }; });
      }).then(function (r) {
        if (!r.res.ok) {
          errorBox.textContent = r.res.status === 401 ? 'Wrong e-mail or password.' :
            r.res.status === 429 ? 'Too many sign-in attempts. Try again in ' + (r.res.headers.get('Retry-After') || 'a few') + ' seconds.' :
            'Sign-in failed. Please try again.';
          errorBox.hidden = false;
          return;
        }
        try {
          sessionStorage.setItem(key, r.body.token);
          sessionStorage.setItem(channelKey(key), randomID());
        } catch (e) { /* the cookie still works */ }
        location.assign('/t/' + encodeURIComponent(form.dataset.tenantSlug) + '/');
      }).catch(function () {
        errorBox.textContent = 'Could not reach the server. Check your connection and try again.';
        errorBox.hidden = false;
      });
    });
    return;
  }

  // The warning script's own calls carry the tab's token. The browser's
  // cookie holds the session of its latest sign-in, which may be another
  // tab's: sent along with a different token, the Guard refuses both as
  // disagreeing credentials, and the tab would sign out, telling the other
  // tabs to. So the cookie stays out, and the tabs of this token share a
  // channel of their own: another session's time left or end is not theirs.
  // A tab without a token (opened in a new tab, or storage blocked) goes on
  // with the cookie and the default channel.
  var warning = document.querySelector('script[data-bearer-storage-key]');
  if (warning) {
    try {
      var tokenKey = warning.dataset.bearerStorageKey;
      if (sessionStorage.getItem(tokenKey)) {
        var id = sessionStorage.getItem(channelKey(tokenKey));
        if (!id) {
          id = randomID();
          sessionStorage.setItem(channelKey(tokenKey), id);
        }
        warning.dataset.credentials = 'omit';
        warning.dataset.channel = 'sessionguard:' + warning.dataset.peekUrl + ':' + id;
      }
    } catch (e) { /* storage blocked: warning.js uses the cookie alone */ }
  }

  // App page: call GET /t/{tenant}/api/me with the bearer token.
  var demo = document.getElementById('api-demo');
  if (!demo) return;
  function callAPI() {
    var token = null;
    try { token = sessionStorage.getItem(demo.dataset.tokenKey); } catch (e) { /* storage blocked */ }
    var opts = { headers: { 'Accept': 'application/json' }, credentials: 'same-origin', cache: 'no-store' };
    if (token) {
      // Bearer only: leave the cookie out so the API sees the token alone.
      opts.headers['Authorization'] = 'Bearer ' + token;
      opts.credentials = 'omit';
    }
    document.getElementById('api-credential').textContent = token ? 'Authorization: Bearer' : 'the session cookie';
    fetch(demo.dataset.meUrl, opts).then(function (res) {
      document.getElementById('api-status').textContent = res.status + ' ' + res.statusText;
      return res.text();
    }).then(function (text) {
      document.getElementById('api-result').textContent = text;
    }).catch(function () {
      document.getElementById('api-status').textContent = 'network error';
    });
  }
  document.getElementById('call-api').addEventListener('click', callAPI);
  callAPI();
})();
