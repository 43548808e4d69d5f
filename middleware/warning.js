/*!
 * sessionguard warning.js — warns before a server-side session times out.
 *
 * No dependencies, no build step. Add it to any page of a signed-in app:
 *
 *   <script src="/sessionguard/warning.js" defer
 *     data-peek-url="/api/session"
 *     data-keepalive-url="/api/session/keepalive"
 *     data-logout-url="/logout"
 *     data-signin-url="/signin"></script>
 *
 * Data attributes (all optional except data-peek-url):
 *   data-peek-url            GET; reports the time left WITHOUT extending the session.
 *   data-keepalive-url       POST; extends the session ("Stay signed in").
 *   data-logout-url          POST; ends the session ("Sign out").
 *   data-signin-url          where to go when the session ends; "reason=" is appended:
 *                            idle | absolute | revoked | logout | invalid | session_limit
 *                            (ended because the user signed in on another device, from
 *                            X-Session-Revoke-Reason).
 *   data-channel             BroadcastChannel name shared by the app's tabs
 *                            (default "sessionguard:" + the peek URL's path).
 *   data-poll-seconds        peek interval, default 60, clamped to [2, 3600].
 *   data-csrf-header         header name sent with the token on POSTs (e.g. X-CSRF-Token).
 *   data-csrf-token          its value.
 *   data-credentials         fetch credentials mode, default "same-origin".
 *   data-bearer-storage-key  sessionStorage key of a bearer token; when set and present,
 *                            the script's own calls send "Authorization: Bearer <token>".
 *
 * The server is the clock of record: every same-origin response (fetch and XHR are
 * observed) carrying X-Session-Idle-Remaining / X-Session-Absolute-Remaining /
 * X-Session-Warning-Threshold resets the local countdown; a 401 with
 * X-Session-End-Reason ends the session: an idle, absolute or revoked end at once, a
 * credential the server does not know ("invalid", "missing") once a second peek a second
 * later is refused too (a request that crossed a re-authentication in another tab carried
 * the token it replaced). A 401 without it (a route that asks for a more recent sign-in:
 * X-Session-Reauthentication) leaves the session alone. Polling uses only the peek URL, so
 * it never extends the session.
 *
 * Keyboard: Tab and Shift+Tab stay inside the dialog. Escape means "Stay signed in"
 * when the idle timeout is what ends the session (pressing a key is being present),
 * and "Continue working" (close, without extending) when the session reaches its
 * maximum length, which nothing can extend.
 *
 * window.SessionGuardWarning = { state(), refresh() } is for debugging and tests.
 */
(function () {
  'use strict';

  var script = document.currentScript;
  if (!script || window.SessionGuardWarning) return;
  var ds = script.dataset;

  function abs(u) {
    try { return u ? new URL(u, location.href).href : ''; } catch (e) { return ''; }
  }
  var cfg = {
    peek: abs(ds.peekUrl),
    keepalive: abs(ds.keepaliveUrl),
    logout: abs(ds.logoutUrl),
    signin: ds.signinUrl || '',
    poll: Math.min(3600, Math.max(2, Number(ds.pollSeconds) || 60)) * 1000,
    csrfHeader: ds.csrfHeader || '',
    csrfToken: ds.csrfToken || '',
    credentials: ds.credentials || 'same-origin',
    bearerKey: ds.bearerStorageKey || ''
  };
  if (!cfg.peek) return;
  var channelName = ds.channel || ('sessionguard:' + new URL(cfg.peek).pathname);

  var H_IDLE = 'X-Session-Idle-Remaining';
  var H_ABS = 'X-Session-Absolute-Remaining';
  var H_THR = 'X-Session-Warning-Threshold';
  var H_END = 'X-Session-End-Reason';
  var H_REVOKE = 'X-Session-Revoke-Reason';

  var origFetch = window.fetch.bind(window);
  var now = function () { return performance.now(); };

  // All times are performance.now() milliseconds of this document.
  var st = {
    active: false,      // a valid session has been seen
    ended: false,
    idleDeadline: 0,
    absDeadline: 0,
    threshold: 300000,
    sent: 0,            // wall-clock (Date.now()) start of the request whose numbers are in use (requestStarted)
    retryAt: 0,         // earliest next confirmation peek at expiry
    lastPeek: -Infinity,
    prePeekFor: 0,      // the warn time a pre-warning peek was made for
    expiring: false,
    dismissedAbs: false // "Continue working" pressed while the absolute limit nears
  };

  // ---------- server numbers ----------

  function num(v) {
    if (v === null || v === undefined || v === '') return NaN;
    var n = Number(v);
    return isFinite(n) && n >= 0 ? n : NaN;
  }

  // requestStarted returns the wall-clock start of a request to the server,
  // which orders the answers (apply). Wall-clock, not performance.now(): the
  // tabs of a session compare their answers, and only the system clock is
  // theirs in common. When that clock has stepped back since the answer in
  // use (a corrected or changed clock), every answer after the step would
  // look older than it and be ignored, the countdown frozen until the
  // session ends: so the step lowers the bar below this request.
  function requestStarted() {
    var t = Date.now();
    if (t <= st.sent) st.sent = t - 1;
    return t;
  }

  // apply takes seconds as reported by the server in answer to a request started at
  // wall-clock time `sent` and received at wall-clock time `at`. The countdown starts
  // at receipt; a request started later carries fresher numbers.
  function apply(idle, absolute, threshold, sent, at, fromPeer) {
    if (st.ended || sent < st.sent) return;
    var t0 = now() - Math.max(0, Date.now() - at);
    var idleD = t0 + idle * 1000;
    var absD = t0 + absolute * 1000;
    var changed = !st.active || Math.abs(idleD - st.idleDeadline) > 1500 ||
      Math.abs(absD - st.absDeadline) > 1500;
    st.active = true;
    st.sent = sent;
    st.idleDeadline = idleD;
    st.absDeadline = absD;
    if (!isNaN(threshold)) st.threshold = threshold * 1000;
    if (changed && !fromPeer) send({ type: 'timing', idle: idle, absolute: absolute,
      threshold: st.threshold / 1000, sent: sent, at: at });
    tick();
  }

  // reasonFrom maps a refusal's reason (and, for "revoked", why) to the fixed set
  // the sign-in page is given.
  function reasonFrom(v, revokedBy) {
    switch (String(v || '').toLowerCase()) {
      case 'idle': case 'idle_timeout': return 'idle';
      case 'absolute': case 'absolute_timeout': return 'absolute';
      case 'session_limit': return 'session_limit';
      case 'revoked': return String(revokedBy || '').toLowerCase() === 'session_limit' ? 'session_limit' : 'revoked';
      case 'logout': return 'logout';
      default: return 'invalid';
    }
  }

  // observe reads one response's headers; get(name) returns a header or null; sent is
  // the wall-clock time its request started; confirming marks the second peek of a
  // refusal (refused).
  function observe(status, get, sent, confirming) {
    if (status === 401) {
      var r = get(H_END);
      if (r !== null && st.active) refused(reasonFrom(r, get(H_REVOKE)), confirming);
      return;
    }
    var idle = num(get(H_IDLE)), absolute = num(get(H_ABS));
    if (!isNaN(idle) && !isNaN(absolute)) apply(idle, absolute, num(get(H_THR)), sent, Date.now(), false);
  }

  // refused ends the session for a refusal's reason. An idle, absolute or
  // revoked end is the session's own, and final. "invalid" (a credential
  // the server knows no session for, "missing" included) is not always: a
  // re-authentication in another tab gives the session a new token, and a
  // request of this tab that left with the old cookie before the new one
  // arrived and reached the server after the rotation is refused so,
  // although the session is live. Signing out on it sent every tab to the
  // sign-in page, the one that had just re-authenticated too. So such a
  // refusal is confirmed first by a peek a second later, which carries the
  // browser's cookie of that moment, and only that peek's refusal ends it.
  var confirmingEnd = false;
  function refused(reason, confirmed) {
    if (st.ended) return;
    if (reason !== 'invalid' || confirmed) { end(reason, true); return; }
    if (confirmingEnd) return;
    confirmingEnd = true;
    setTimeout(function () {
      if (st.ended) { confirmingEnd = false; return; }
      call('GET', cfg.peek, 5000, true).then(function () { confirmingEnd = false; },
        function () { confirmingEnd = false; /* unknown: the next tick's peek asks again */ });
    }, 1000);
  }

  function sameOrigin(u) {
    try { return new URL(u, location.href).origin === location.origin; } catch (e) { return false; }
  }

  // ---------- observe the app's own traffic ----------

  window.fetch = function () {
    var sent = requestStarted();
    return origFetch.apply(null, arguments).then(function (res) {
      try {
        if (res.type !== 'opaque' && sameOrigin(res.url)) {
          observe(res.status, function (n) { return res.headers.get(n); }, sent);
        }
      } catch (e) { /* never break the app */ }
      return res;
    });
  };

  if (window.XMLHttpRequest) {
    var send0 = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function () {
      var xhr = this, sent = requestStarted();
      xhr.addEventListener('loadend', function () {
        try {
          if (xhr.status && sameOrigin(xhr.responseURL)) {
            observe(xhr.status, function (n) { return xhr.getResponseHeader(n); }, sent);
          }
        } catch (e) { /* never break the app */ }
      });
      return send0.apply(this, arguments);
    };
  }

  // ---------- the script's own calls ----------

  function call(method, url, timeoutMs, confirming) {
    var headers = { 'Accept': 'application/json' };
    if (method !== 'GET' && cfg.csrfHeader && cfg.csrfToken) headers[cfg.csrfHeader] = cfg.csrfToken;
    if (cfg.bearerKey) {
      var tok = null;
      try { tok = sessionStorage.getItem(cfg.bearerKey); } catch (e) { /* storage blocked */ }
      if (tok) headers['Authorization'] = 'Bearer ' + tok;
    }
    var opts = { method: method, headers: headers, credentials: cfg.credentials, cache: 'no-store' };
    var timer = 0;
    if (window.AbortController) {
      var ac = new AbortController();
      opts.signal = ac.signal;
      timer = setTimeout(function () { ac.abort(); }, timeoutMs || 10000);
    }
    var sent = requestStarted();
    return origFetch(url, opts).then(function (res) {
      clearTimeout(timer);
      observe(res.status, function (n) { return res.headers.get(n); }, sent, confirming);
      return res;
    }, function (err) { clearTimeout(timer); throw err; });
  }

  function peek() {
    st.lastPeek = now();
    return call('GET', cfg.peek);
  }

  // ---------- the clock ----------

  function deadline() { return Math.min(st.idleDeadline, st.absDeadline); }
  function absoluteFirst() { return st.absDeadline <= st.idleDeadline; }
  function localReason() { return absoluteFirst() ? 'absolute' : 'idle'; }

  // A machine that slept (a closed laptop): the countdown's clock,
  // performance.now(), may stand still during a suspend (browsers and
  // systems differ), the wall clock does not, and the session may have
  // ended meanwhile. A tick that finds the wall clock more than a few
  // seconds further on than its own since the last tick asks the server at
  // once rather than at the next poll. (A wall clock set forward asks once
  // for nothing.)
  var lastTick = { wall: Date.now(), mono: now() };
  function woke() {
    var w = Date.now(), m = now();
    var slept = (w - lastTick.wall) - (m - lastTick.mono) > 5000;
    lastTick.wall = w;
    lastTick.mono = m;
    return slept;
  }

  function tick() {
    var slept = woke();
    if (!st.active || st.ended) return;
    var t = now(), d = deadline(), warnAt = d - st.threshold;
    if (t >= d) { if (t >= st.retryAt) expire(); return; }
    if (t >= warnAt) {
      if (!(absoluteFirst() && st.dismissedAbs)) openDialog();
      render(d - t);
    } else {
      st.dismissedAbs = false;
      if (isOpen()) closeDialog();
    }
    // Peek on the poll interval, and once just before the warning shows, so that
    // activity in another app or device cancels it. Never the keepalive.
    var due = slept || t - st.lastPeek >= cfg.poll;
    if (!due && t < warnAt && warnAt - t <= 2000 && st.prePeekFor !== warnAt) {
      st.prePeekFor = warnAt;
      due = true;
    }
    if (due && !document.hidden) peek().catch(function () { /* next tick retries */ });
  }

  function expire() {
    if (st.expiring || st.ended) return;
    st.expiring = true;
    var fallback = localReason();
    // Ask the server first: it is the clock of record, and it knows the reason.
    call('GET', cfg.peek, 5000).then(function (res) {
      st.expiring = false;
      st.retryAt = now() + 1000;
      if (!st.ended && res.status === 401) {
        // "missing"/"invalid" at this moment usually means the cookie itself expired
        // with the session: the local reason says more.
        var r = reasonFrom(res.headers.get(H_END), res.headers.get(H_REVOKE));
        end(r === 'invalid' ? fallback : r, true);
      }
      else if (!st.ended && !res.ok) end(fallback, true);
      // 200: observe() has applied the server's numbers; tick() goes on.
    }, function () {
      st.expiring = false;
      end(fallback, true);
    });
  }

  function end(reason, broadcast) {
    if (st.ended) return;
    st.ended = true;
    closeDialog(true);
    if (broadcast) send({ type: 'end', reason: reason });
    if (cfg.signin) {
      var u = cfg.signin + (cfg.signin.indexOf('?') >= 0 ? '&' : '?') + 'reason=' + encodeURIComponent(reason);
      location.assign(u);
    } else {
      location.reload();
    }
  }

  // ---------- tabs in sync ----------

  var bc = null;
  var storageKey = 'sessionguard-bus:' + channelName;
  function send(msg) {
    try {
      if (bc) { bc.postMessage(msg); return; }
      msg.nonce = Math.random();
      localStorage.setItem(storageKey, JSON.stringify(msg));
    } catch (e) { /* no channel: tabs fall back to their own polls */ }
  }
  function receive(msg) {
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'timing') {
      var i = num(msg.idle), a = num(msg.absolute), sent = num(msg.sent), at = num(msg.at);
      if (!isNaN(i) && !isNaN(a) && !isNaN(sent) && !isNaN(at)) apply(i, a, num(msg.threshold), sent, at, true);
    } else if (msg.type === 'end') {
      if (st.active) end(reasonFrom(msg.reason), false);
    }
  }
  try {
    if (window.BroadcastChannel) {
      bc = new BroadcastChannel(channelName);
      bc.onmessage = function (e) { receive(e.data); };
    }
  } catch (e) { bc = null; }
  if (!bc) {
    window.addEventListener('storage', function (e) {
      if (e.key !== storageKey || !e.newValue) return;
      try { receive(JSON.parse(e.newValue)); } catch (err) { /* ignore */ }
    });
  }

  // ---------- the dialog ----------

  var ui = null, returnFocus = null, lastAnnounced = null, inerted = [];

  function el(tag, attrs, style, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (style) e.style.cssText = style;
    if (text) e.textContent = text;
    return e;
  }

  var BTN = 'font:inherit;font-weight:600;padding:.6em 1.2em;border-radius:4px;cursor:pointer;' +
    'border:2px solid #0b3d91;margin:.25em;';

  function build() {
    var live = el('div', { id: 'sg-warning-live', 'aria-live': 'polite', 'aria-atomic': 'true' },
      'position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;' +
      'clip:rect(0 0 0 0);white-space:nowrap;border:0;');
    var overlay = el('div', { id: 'sg-warning-overlay', 'class': 'sg-warning-overlay', hidden: '' },
      'position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,.65);' +
      'display:flex;align-items:center;justify-content:center;padding:1em;');
    var box = el('div', { id: 'sg-warning', 'class': 'sg-warning', role: 'dialog', 'aria-modal': 'true',
      'aria-labelledby': 'sg-warning-title', 'aria-describedby': 'sg-warning-message', tabindex: '-1' },
      'background:#fff;color:#111;max-width:28em;width:100%;padding:1.5em;border-radius:6px;' +
      'box-shadow:0 4px 24px rgba(0,0,0,.4);font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;' +
      'outline:3px solid #0b3d91;text-align:left;');
    var title = el('h2', { id: 'sg-warning-title' }, 'margin:0 0 .5em;font-size:1.3em;color:#111;');
    var msg = el('p', { id: 'sg-warning-message' }, 'margin:0 0 .75em;');
    var timeP = el('p', { 'class': 'sg-warning-time' }, 'margin:0 0 1em;font-size:1.1em;');
    var count = el('strong', { id: 'sg-warning-countdown', 'class': 'sg-warning-countdown' },
      'font-variant-numeric:tabular-nums;font-size:1.4em;');
    timeP.appendChild(document.createTextNode('Time left: '));
    timeP.appendChild(count);
    var err = el('p', { id: 'sg-warning-error', role: 'alert' }, 'margin:0 0 1em;color:#a00000;');
    var row = el('div', {}, 'display:flex;flex-wrap:wrap;justify-content:flex-end;');
    var stay = el('button', { type: 'button', id: 'sg-stay', 'class': 'sg-stay' },
      BTN + 'background:#0b3d91;color:#fff;', 'Stay signed in');
    var dismiss = el('button', { type: 'button', id: 'sg-dismiss', 'class': 'sg-dismiss' },
      BTN + 'background:#0b3d91;color:#fff;', 'Continue working');
    var out = el('button', { type: 'button', id: 'sg-signout', 'class': 'sg-signout' },
      BTN + 'background:#fff;color:#0b3d91;', 'Sign out');
    row.appendChild(stay); row.appendChild(dismiss); row.appendChild(out);
    box.appendChild(title); box.appendChild(msg); box.appendChild(timeP); box.appendChild(err);
    box.appendChild(row);
    overlay.appendChild(box);
    document.body.appendChild(live);
    document.body.appendChild(overlay);

    // A visible focus ring, set through the CSSOM (allowed by a strict style-src CSP).
    [stay, dismiss, out].forEach(function (b) {
      b.addEventListener('focus', function () {
        b.style.outline = '3px solid #ffbf47';
        b.style.outlineOffset = '2px';
        b.style.boxShadow = '0 0 0 5px #111';
      });
      b.addEventListener('blur', function () { b.style.outline = ''; b.style.boxShadow = ''; });
    });
    stay.addEventListener('click', onStay);
    dismiss.addEventListener('click', onDismiss);
    out.addEventListener('click', onSignOut);
    box.addEventListener('keydown', onKey);
    document.addEventListener('focusin', function (e) {
      if (isOpen() && !box.contains(e.target)) focusFirst();
    });
    ui = { overlay: overlay, box: box, title: title, msg: msg, count: count, err: err,
      stay: stay, dismiss: dismiss, out: out, live: live, mode: '' };
  }

  function isOpen() { return !!ui && !ui.overlay.hidden; }

  function buttons() {
    return [ui.stay, ui.dismiss, ui.out].filter(function (b) { return !b.hidden && !b.disabled; });
  }
  function focusFirst() { var b = buttons(); (b[0] || ui.box).focus(); }

  function openDialog() {
    if (isOpen()) return;
    if (!ui) { if (!document.body) return; build(); }
    returnFocus = document.activeElement;
    ui.err.textContent = '';
    ui.mode = '';
    lastAnnounced = null;
    // Make the page behind the dialog inert, so that nothing there takes focus or clicks.
    inerted = [];
    Array.prototype.forEach.call(document.body.children, function (c) {
      if (c !== ui.overlay && c !== ui.live && !c.hasAttribute('inert')) {
        c.setAttribute('inert', '');
        inerted.push(c);
      }
    });
    ui.overlay.hidden = false;
    ui.overlay.style.display = 'flex';
    render(deadline() - now());
    focusFirst();
  }

  function closeDialog(silent) {
    if (!isOpen()) return;
    ui.overlay.hidden = true;
    ui.overlay.style.display = 'none';
    inerted.forEach(function (c) { c.removeAttribute('inert'); });
    inerted = [];
    if (!silent) ui.live.textContent = '';
    var f = returnFocus;
    returnFocus = null;
    if (f && f.focus && document.contains(f)) {
      try { f.focus(); } catch (e) { /* ignore */ }
    }
  }

  function fmt(s) {
    var m = Math.floor(s / 60), r = s % 60;
    return m + ':' + (r < 10 ? '0' : '') + r;
  }
  function words(s) {
    if (s >= 60) { var m = Math.round(s / 60); return m + (m === 1 ? ' minute' : ' minutes'); }
    return s + (s === 1 ? ' second' : ' seconds');
  }

  function render(ms) {
    if (!isOpen()) return;
    var s = Math.max(0, Math.ceil(ms / 1000));
    var mode = absoluteFirst() ? 'absolute' : 'idle';
    if (mode !== ui.mode) {
      ui.mode = mode;
      if (mode === 'absolute') {
        ui.title.textContent = 'Your session is about to end';
        ui.msg.textContent = 'Your session reaches its maximum length soon. For your security you ' +
          'must sign in again then. Save your work now.';
      } else {
        ui.title.textContent = 'Are you still there?';
        ui.msg.textContent = 'You will be signed out soon because of inactivity. ' +
          'Choose "Stay signed in" to continue.';
      }
      var hadFocus = ui.box.contains(document.activeElement);
      ui.stay.hidden = mode === 'absolute';
      ui.dismiss.hidden = mode !== 'absolute';
      if (hadFocus && buttons().indexOf(document.activeElement) < 0) focusFirst();
      lastAnnounced = null;
    }
    ui.count.textContent = fmt(s);
    ui.count.setAttribute('data-seconds', String(s));
    // Announce politely, not every second: on opening, when a new whole minute starts,
    // and at 60, 30 and 10 seconds.
    var step = s > 60 ? 'm' + Math.ceil(s / 60) : s > 30 ? 's60' : s > 10 ? 's30' : 's10';
    if (step !== lastAnnounced) {
      var first = lastAnnounced === null;
      lastAnnounced = step;
      var say = first ? s : s > 60 ? Math.ceil(s / 60) * 60 : s > 30 ? 60 : s > 10 ? 30 : 10;
      var what = mode === 'absolute' ? 'Your session ends in ' : 'You will be signed out in ';
      ui.live.textContent = what + words(Math.min(s, say)) + '.';
    }
  }

  function onKey(e) {
    if (e.key === 'Tab') {
      var b = buttons();
      if (!b.length) { e.preventDefault(); return; }
      var i = b.indexOf(document.activeElement);
      var next = e.shiftKey ? (i <= 0 ? b.length - 1 : i - 1) : (i < 0 || i === b.length - 1 ? 0 : i + 1);
      e.preventDefault();
      b[next].focus();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      if (absoluteFirst()) onDismiss(); else onStay();
    }
  }

  var busy = false;
  function onStay() {
    if (busy || !cfg.keepalive) return;
    busy = true;
    ui.stay.disabled = true;
    ui.err.textContent = '';
    call('POST', cfg.keepalive).then(function (res) {
      busy = false;
      ui.stay.disabled = false;
      // observe() applied the new numbers (and broadcast them); tick() closed the
      // dialog unless the new deadline is still inside the warning window.
      if (!res.ok && res.status !== 401) ui.err.textContent = 'Could not extend your session. Please try again.';
      else if (res.ok && res.headers.get(H_IDLE) === null) ui.err.textContent = 'Your session could not be extended.';
    }, function () {
      busy = false;
      ui.stay.disabled = false;
      ui.err.textContent = 'Could not reach the server. Check your connection and try again.';
    });
  }

  function onDismiss() {
    st.dismissedAbs = true;
    closeDialog(false);
  }

  function onSignOut() {
    if (busy) return;
    busy = true;
    var done = function () { end('logout', true); };
    if (!cfg.logout) { done(); return; }
    call('POST', cfg.logout).then(done, done);
  }

  // ---------- start ----------

  setInterval(tick, 1000);
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && !st.ended) peek().catch(function () { /* tick retries */ });
  });
  window.addEventListener('pageshow', function (e) {
    if (e.persisted && !st.ended) peek().catch(function () { /* tick retries */ });
  });

  window.SessionGuardWarning = Object.freeze({
    state: function () {
      var t = now();
      return {
        active: st.active,
        ended: st.ended,
        idleDeadline: st.active ? Math.round(st.idleDeadline - t) : null,
        absoluteDeadline: st.active ? Math.round(st.absDeadline - t) : null,
        threshold: st.threshold,
        dialogOpen: isOpen(),
        mode: absoluteFirst() ? 'absolute' : 'idle',
        channel: channelName,
        pollMs: cfg.poll
      };
    },
    refresh: function () {
      return peek().then(function (res) { return res.status; });
    }
  });

  peek().catch(function () { /* the next poll retries */ });
})();
