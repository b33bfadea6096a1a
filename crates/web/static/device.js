// Pairing a kiosk (docs/KIOSK.md, "Pairing"): ask the server for a code, show it, and poll with
// the secret (kept in memory only) until an administrator has confirmed the code; the answer
// that says "paired" also sets the device cookie, and the kiosk goes on to its screen. A code
// that lapses (ten minutes) is replaced by a new one.
(function () {
  var section = document.getElementById('pairing');
  if (!section || !window.fetch) { return; }
  var back = section.getAttribute('data-back') || '/kiosk';
  var codeEl = document.getElementById('pairing-code');
  var stateEl = document.getElementById('pairing-state');
  var secret = null;
  var expires = 0;

  function post(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body || {})
    });
  }

  function start() {
    post('/api/v1/device/pairings').then(function (r) {
      return r.json().then(function (b) { return { ok: r.ok, body: b }; });
    }).then(function (r) {
      if (!r.ok) {
        stateEl.textContent = (r.body.error && r.body.error.message) || '请稍后再试 · Try again later';
        setTimeout(start, 30000);
        return;
      }
      secret = r.body.secret;
      expires = Date.parse(r.body.expires_at);
      var c = r.body.code;
      codeEl.textContent = c.slice(0, 4) + ' ' + c.slice(4);
      stateEl.textContent = '等待管理员确认 · Waiting for the administrator';
      setTimeout(poll, 2000);
    }).catch(function () { setTimeout(start, 5000); });
  }

  function poll() {
    if (Date.now() > expires) { start(); return; }
    post('/api/v1/device/pairings/poll', { secret: secret }).then(function (r) {
      if (r.status === 404) { start(); return null; }
      return r.json();
    }).then(function (b) {
      if (!b) { return; }
      if (b.status === 'paired') {
        stateEl.textContent = '已配对 · Paired';
        location.replace(back);
        return;
      }
      setTimeout(poll, 2000);
    }).catch(function () { setTimeout(poll, 5000); });
  }

  start();
})();
