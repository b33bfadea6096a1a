// The kiosk page's side of the peripheral bridge (docs/KIOSK.md §5, protocol version 1).
//
// A kiosk's hardware (ID card reader, printer, …) is driven by a local agent listening on
// ws://127.0.0.1:<port>/bridge on the kiosk itself; the port comes from the page's start
// address (?bridge=47801, remembered on the machine), 47800 when none was ever given. This
// module keeps one socket to it:
//
//   - it opens with `hello` (protocol 1) and learns the machine's peripherals;
//   - it sends those on to the Wujing server as the device's heartbeat (docs/KIOSK.md §3), at
//     once, whenever a `status` event changes them, and every `next_in_secs` the server asks;
//   - when the socket drops (or never opens) it tries again after 1, 2, 4 … 30 seconds, and
//     tells the page, which falls back to its manual input meanwhile;
//   - `request(op, params)` sends one request and returns a promise of its result; a refusal
//     rejects with the agent's `{code, message}` (`disconnected` when there is no socket).
//
// The agent never talks to the server and this module never sends what a reader read to it:
// the page decides what a use case needs. Nothing personal is stored here — only the port, the
// peripherals' states and when they were last reported (localStorage, per machine), so that
// a page reloaded every few seconds (the rating terminal) does not send a heartbeat each time.
(function () {
  'use strict';
  var PROTOCOL = 1;
  var DEFAULT_PORT = 47800;
  var MAX_BACKOFF_SECS = 30;
  // The heartbeat's vocabulary (docs/KIOSK.md §3): a peripheral the server does not know would
  // make the whole heartbeat refused, so only these are sent on.
  var PERIPHERALS = ['id_reader', 'mrz_reader', 'fingerprint', 'signature_pad', 'camera',
    'printer', 'locker', 'payment', 'card_writer', 'network'];
  var STATES = ['ok', 'paper_low', 'paper_out', 'error', 'jam', 'offline', 'disconnected', 'door_open'];
  var SENT_KEY = 'wujing.heartbeat';
  // A heartbeat that reports what the last one did waits this long after it.
  var RESEND_MS = 50000;

  var PORT_KEY = 'wujing.bridge.port';
  function valid(p) {
    return Number.isInteger(p) && p >= 1024 && p < 65536;
  }
  /** The start address's port, remembered on this machine: a page reached by a redirect (the
   * rating terminal's "thank you") has no start address, but is on the same kiosk. */
  function port() {
    var given = Number(new URLSearchParams(location.search).get('bridge'));
    try {
      if (valid(given)) localStorage.setItem(PORT_KEY, String(given));
      else given = Number(localStorage.getItem(PORT_KEY));
    } catch (e) { /* no storage: the address's port or the default */ }
    return valid(given) ? given : DEFAULT_PORT;
  }

  /** Only the known peripherals and states, in a fixed order (so two reports compare). */
  function clean(peripherals) {
    var out = {};
    PERIPHERALS.forEach(function (k) {
      var v = peripherals && peripherals[k];
      if (typeof v === 'string' && STATES.indexOf(v) >= 0) out[k] = v;
    });
    return out;
  }

  function Bridge(page, handlers) {
    this.page = page;
    this.on = handlers || {};
    this.ws = null;
    this.seq = 0;
    this.pending = {};
    this.backoff = 1;
    this.ready = false;
    this.peripherals = null;
    this.agent = '';
    this.beatTimer = null;
  }

  Bridge.prototype.connect = function () {
    var self = this;
    var ws;
    try {
      ws = new WebSocket('ws://127.0.0.1:' + port() + '/bridge');
    } catch (e) {
      self.lost();
      return;
    }
    self.ws = ws;
    ws.onopen = function () {
      self.request('hello', { protocol: PROTOCOL, page: self.page }).then(function (r) {
        if (!r || r.protocol !== PROTOCOL) {
          // An agent of another version: the page keeps its manual input (§5, Session start).
          ws.close();
          return;
        }
        self.backoff = 1;
        self.ready = true;
        self.agent = String(r.agent || '').slice(0, 60);
        self.peripherals = clean(r.peripherals);
        self.heartbeat(false);
        if (self.on.ready) self.on.ready(self);
      }, function () { ws.close(); });
    };
    ws.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      if (!m || typeof m !== 'object') return;
      if (m.type === 'response' && self.pending[m.id]) {
        var p = self.pending[m.id];
        delete self.pending[m.id];
        if (m.ok) p.resolve(m.result || {});
        else p.reject(m.error || { code: 'device_error', message: 'no error given' });
      } else if (m.type === 'event') {
        if (m.event === 'status' && m.data && m.data.peripherals) {
          self.peripherals = clean(m.data.peripherals);
          self.heartbeat(false);
        }
        if (self.on.event) self.on.event(m.event, m.data || {});
      }
    };
    ws.onclose = function () {
      if (self.ws !== ws) return;
      self.ws = null;
      self.lost();
    };
  };

  /** The socket is gone (or never opened): fail what waits, tell the page, try again later. */
  Bridge.prototype.lost = function () {
    var self = this;
    // A page going away closes its socket: that is not the agent failing.
    if (self.leaving) return;
    var wasReady = self.ready;
    self.ready = false;
    Object.keys(self.pending).forEach(function (id) {
      self.pending[id].reject({ code: 'disconnected', message: 'the bridge is not connected' });
    });
    self.pending = {};
    if (self.on.down) self.on.down(self, wasReady);
    if (wasReady || !self.beatTimer) self.heartbeat(false);
    setTimeout(function () { self.connect(); }, self.backoff * 1000);
    self.backoff = Math.min(self.backoff * 2, MAX_BACKOFF_SECS);
  };

  /** Sends one request; the promise holds the result, or rejects with `{code, message}`. */
  Bridge.prototype.request = function (op, params, timeoutMs) {
    var self = this;
    return new Promise(function (resolve, reject) {
      if (!self.ws || self.ws.readyState !== WebSocket.OPEN) {
        reject({ code: 'disconnected', message: 'the bridge is not connected' });
        return;
      }
      var id = 'r' + (++self.seq);
      var msg = { type: 'request', id: id, op: op, params: params || {} };
      if (timeoutMs) msg.timeout_ms = timeoutMs;
      self.pending[id] = { resolve: resolve, reject: reject };
      self.ws.send(JSON.stringify(msg));
    });
  };

  /** Whether the machine has `peripheral` in a working state. */
  Bridge.prototype.has = function (peripheral) {
    var s = this.ready && this.peripherals && this.peripherals[peripheral];
    return s === 'ok' || s === 'paper_low';
  };

  /**
   * The device's heartbeat with the bridge's peripherals. While the bridge is down, the
   * peripherals it reported last on this machine are reported `disconnected` (the hardware
   * cannot be used); a kiosk that never had a bridge reports none (the page itself is alive).
   */
  Bridge.prototype.heartbeat = function (force) {
    var self = this;
    var last = null;
    try { last = JSON.parse(localStorage.getItem(SENT_KEY) || 'null'); } catch (e) { last = null; }
    var peripherals;
    if (self.ready) {
      peripherals = self.peripherals;
    } else {
      peripherals = {};
      Object.keys((last && last.known) || {}).forEach(function (k) { peripherals[k] = 'disconnected'; });
    }
    var body = { peripherals: peripherals };
    if (self.agent) body.software = self.agent;
    var sig = JSON.stringify(body);
    clearTimeout(self.beatTimer);
    var schedule = function (secs) {
      self.beatTimer = setTimeout(function () { self.heartbeat(true); }, secs * 1000);
    };
    if (!force && last && last.sig === sig && Date.now() - last.at < RESEND_MS) {
      schedule(Math.max(1, (RESEND_MS - (Date.now() - last.at)) / 1000));
      return;
    }
    var known = self.ready ? self.peripherals : (last && last.known) || {};
    try {
      localStorage.setItem(SENT_KEY, JSON.stringify({ sig: sig, at: Date.now(), known: known }));
    } catch (e) { /* private mode: every page load sends its heartbeat */ }
    fetch('/api/v1/device/heartbeat', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: sig
    }).then(function (r) { return r.ok ? r.json() : {}; }).then(function (b) {
      schedule(Math.max(10, Number(b.next_in_secs) || 60));
    }).catch(function () { schedule(60); });
  };

  window.WujingBridge = {
    /** Connects for `page` (`check_in`, `rating_terminal`) with the page's handlers:
     * `ready(bridge)`, `down(bridge, wasReady)`, `event(name, data)`. */
    start: function (page, handlers) {
      var b = new Bridge(page, handlers);
      window.addEventListener('pagehide', function () { b.leaving = true; });
      window.addEventListener('beforeunload', function () { b.leaving = true; });
      b.connect();
      return b;
    }
  };
})();
