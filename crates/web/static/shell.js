// The kiosk shell, shared by every kiosk screen (docs/KIOSK.md §6, "The shell"): the check-in
// screen and each of the eight machines' modes.
//
// What it does on its own, from the page's markup:
// - the language switch and the older-adult mode (`.shell [data-lang]`, `.shell [data-care]`:
//   the portal's wujing_lang and wujing_care cookies, chosen per citizen);
// - the keypad (`.keypad button[data-key]`) types into the `main input` last touched, at first
//   the one marked `data-keypad-default` (else the first), so a kiosk needs no keyboard; a
//   `[data-keyset]` toggle swaps the digit keys for the letter keys;
// - the idle reset: after `data-idle` seconds without a touch (the last ten counted down in
//   `#idle`, "I am still here" in `#idle-stay`), the screen is wiped. A screen showing a
//   citizen's result (`data-result` on body) waits 30 seconds at most. An untouched start
//   screen is not reset;
// - the wipe: every field emptied, `main .slip`, `main .err` and every `[data-wipe]` element
//   emptied, session storage cleared, the language and mode forgotten, the agent told
//   `session.end` (at most a second's wait), and the screen reloads its start address
//   (`data-start`).
//
// What a page uses (window.WujingShell):
// - `t(zh, en)`: a text in the screen's language (both until the citizen chose one);
// - `useBridge(b)`: the page's bridge (bridge.js), so that the wipe ends the agent's session;
// - `wipe()`: the end of a citizen's session ("Done");
// - `holding(fn)`: the page tells when it holds something of a citizen that no field shows (a
//   step of a flow kept in script): `fn()` true keeps the idle reset armed;
// - `readCard(bridge, op, handlers)`: waits for a card or passport on a reader (`id_card.read`,
//   `mrz.read`) and asks again after a bad read, never faster than once a second;
// - `printPdf(bridge, url, paper)`: fetches a PDF the server renders for this device and sends
//   it to the agent's printer;
// - `outcome(box, ok, head, lines)`: how the citizen's transaction ended, in `box`;
// - `finished(ok)` (true, false, or null for "not yet"): the exit (`[data-exit]`) says "Done" only once something was done: it reads
//   its markup's "Cancel"/"Back" until then, `data-back` after a failure and `data-done` after a
//   success — "Done" before anything happened told citizens that it had.
(function () {
  'use strict';
  var body = document.body;
  var start = body.getAttribute('data-start') || location.pathname;
  var lang = body.getAttribute('data-lang') || 'both';
  var bridge = null;
  var wiping = false;
  var holds = [];

  function t(zh, en) {
    return lang === 'zh' ? zh : lang === 'en' ? en : zh + ' · ' + en;
  }

  // --- The keypad -------------------------------------------------------------------------
  var fields = document.querySelectorAll('main input');
  var target = document.querySelector('main input[data-keypad-default]') || fields[0] || null;
  fields.forEach(function (el) {
    el.addEventListener('focus', function () { target = el; });
  });
  document.querySelectorAll('.keypad button[data-key]').forEach(function (b) {
    b.addEventListener('click', function () {
      if (!target) return;
      var k = b.getAttribute('data-key');
      if (k === 'back') target.value = target.value.slice(0, -1);
      else if (!target.maxLength || target.maxLength < 0 || target.value.length < target.maxLength) target.value += k;
      target.dispatchEvent(new Event('input', { bubbles: true }));
      target.focus();
    });
  });

  // A booking code has letters: the letter keys (`.keypad[data-keys=letters]`) take the digits'
  // place while the toggle (`[data-keyset]`, aria-pressed) is on; typing goes on into the same
  // field, so a code of letters and digits is typed by switching back and forth.
  document.querySelectorAll('[data-keyset]').forEach(function (b) {
    b.addEventListener('click', function () {
      var letters = b.getAttribute('aria-pressed') !== 'true';
      b.setAttribute('aria-pressed', String(letters));
      document.querySelectorAll('.keypad[data-keys]').forEach(function (k) {
        k.hidden = (k.getAttribute('data-keys') === 'letters') !== letters;
      });
    });
  });

  // --- The wipe ---------------------------------------------------------------------------
  function setCookie(name, value) {
    document.cookie = name + '=' + value + '; path=/; SameSite=Strict' + (value ? '' : '; max-age=0');
  }

  /**
   * Forgets everything about the citizen who was here and starts again: fields emptied,
   * messages and results removed from the page, session storage cleared, their language and
   * mode forgotten, the agent told to drop what it read; then the start address.
   */
  function wipe() {
    if (wiping) return;
    wiping = true;
    document.querySelectorAll('input, textarea, select').forEach(function (el) {
      if (el.type === 'checkbox' || el.type === 'radio') el.checked = false;
      else if (el.type !== 'hidden' && el.type !== 'submit' && el.type !== 'button') el.value = '';
    });
    document.querySelectorAll('main .slip, main .err, [data-wipe]').forEach(function (el) {
      el.textContent = '';
    });
    try { sessionStorage.clear(); } catch (e) { /* no storage: nothing kept there */ }
    setCookie('wujing_lang', '');
    setCookie('wujing_care', '');
    var go = function () { location.replace(start); };
    if (bridge && bridge.ready) {
      // The agent clears what it holds; the screen does not wait more than a second for it.
      Promise.race([bridge.request('session.end'), new Promise(function (r) { setTimeout(r, 1000); })])
        .then(go, go);
    } else {
      go();
    }
  }

  // --- The language switch and the older-adult mode ------------------------------------------
  document.querySelectorAll('.shell [data-lang]').forEach(function (b) {
    b.addEventListener('click', function () {
      // Pressing the language already chosen goes back to both.
      setCookie('wujing_lang', b.getAttribute('aria-pressed') === 'true' ? '' : b.getAttribute('data-lang'));
      location.replace(start);
    });
  });
  document.querySelectorAll('.shell [data-care]').forEach(function (b) {
    b.addEventListener('click', function () {
      setCookie('wujing_care', b.getAttribute('data-care') === 'on' ? 'on' : '');
      location.replace(start);
    });
  });

  // --- The idle reset -----------------------------------------------------------------------
  var result = body.hasAttribute('data-result');
  var idleSecs = Math.max(10, Number(body.getAttribute('data-idle')) || 60);
  // A result stays up half a minute at most: the next citizen must not see it.
  if (result) idleSecs = Math.min(idleSecs, 30);
  var idleBox = document.getElementById('idle');
  var idleLeft = document.getElementById('idle-left');
  var lastTouch = Date.now();
  function touched() {
    lastTouch = Date.now();
    if (idleBox) idleBox.hidden = true;
  }
  ['pointerdown', 'touchstart', 'keydown', 'input'].forEach(function (e) {
    document.addEventListener(e, touched, { passive: true, capture: true });
  });
  var stay = document.getElementById('idle-stay');
  if (stay) stay.addEventListener('click', touched);
  /** Nothing of anyone on the screen: the start screen, untouched, in its own settings. */
  function pristine() {
    if (result || document.querySelector('main .err') || lang !== 'both' || body.classList.contains('care')) return false;
    if (holds.some(function (f) { return f(); })) return false;
    return !Array.prototype.some.call(document.querySelectorAll('main input:not([type=hidden]), main textarea'), function (el) {
      return el.type === 'checkbox' || el.type === 'radio' ? el.checked && !el.defaultChecked : el.value;
    });
  }
  setInterval(function () {
    var left = Math.ceil(idleSecs - (Date.now() - lastTouch) / 1000);
    if (pristine()) {
      lastTouch = Date.now();
      return;
    }
    if (left <= 0) {
      wipe();
    } else if (left <= 10 && idleBox) {
      idleLeft.textContent = String(left);
      idleBox.hidden = false;
    }
  }, 250);

  // --- Readers and the printer -------------------------------------------------------------

  /**
   * Waits for a card (`id_card.read`) or a passport (`mrz.read`) on its reader. `handlers`:
   * `read(result)` with what the agent read; `say(text)` for what the citizen should do
   * ("" when nothing); `unavailable()` when the reader cannot be used (the page offers its
   * manual input). A bad read asks again after 1.5 s; a timeout, no card, a busy or cancelled
   * reader simply read again — never more than once a second. Returns a function that stops
   * asking.
   */
  function readCard(b, op, handlers) {
    var stopped = false;
    var reader = op === 'mrz.read' ? 'mrz_reader' : 'id_reader';
    var say = handlers.say || function () {};
    var badRead = op === 'mrz.read'
      ? t('未能读取，请把护照资料页重新放在阅读器上', 'The passport could not be read; please put its photo page on the reader again')
      : t('未能读取，请重新放置身份证', 'The card could not be read; please put it on the reader again');
    function once() {
      if (stopped) return;
      if (!b || !b.ready || !b.has(reader)) {
        if (handlers.unavailable) handlers.unavailable();
        return;
      }
      say(op === 'mrz.read'
        ? t('请将护照资料页放在阅读器上', 'Please put your passport, photo page down, on the reader')
        : t('请将身份证放在读卡区', 'Please put your ID card on the reader'));
      var began = Date.now();
      b.request(op, {}, 30000).then(function (r) {
        if (stopped) return;
        var ok = op === 'mrz.read' ? r && Array.isArray(r.lines) && r.lines.length : r && typeof r.id_number === 'string' && r.id_number;
        if (!ok) {
          say(badRead);
          setTimeout(once, 1500);
          return;
        }
        handlers.read(r);
      }, function (err) {
        if (stopped) return;
        var code = err && err.code;
        var after = Math.max(0, 1000 - (Date.now() - began));
        if (code === 'read_failed') {
          say(badRead);
          setTimeout(once, Math.max(after, 1500));
        } else if (code === 'timeout' || code === 'no_media' || code === 'cancelled' || code === 'busy') {
          setTimeout(once, after);
        } else if (code !== 'disconnected' && handlers.unavailable) {
          handlers.unavailable();
        }
      });
    }
    once();
    return function () { stopped = true; };
  }

  /**
   * Prints a PDF the server renders (`url`, same origin) on the agent's printer. Resolves with
   * the agent's answer; rejects with `{code}` — the agent's (`no_media` when out of paper) or
   * `render_failed` when the server refused the document.
   */
  function printPdf(b, url, paper) {
    return fetch(url, { credentials: 'same-origin' })
      .then(function (r) {
        if (!r.ok) throw { code: 'render_failed' };
        return r.arrayBuffer();
      })
      .then(function (buf) {
        var bytes = new Uint8Array(buf);
        var bin = '';
        for (var i = 0; i < bytes.length; i += 0x8000) {
          bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
        }
        return b.request('print', { pdf: btoa(bin), copies: 1, paper: paper || 'a4' }, 60000);
      });
  }

  // --- The outcome ------------------------------------------------------------------------
  // `ok` null: nothing has ended yet (a new attempt), the markup's label again.
  function finished(ok) {
    document.querySelectorAll('[data-exit]').forEach(function (b) {
      if (!b.hasAttribute('data-cancel')) b.setAttribute('data-cancel', b.textContent);
      var label = b.getAttribute(ok === null ? 'data-cancel' : ok ? 'data-done' : 'data-back');
      if (label) b.textContent = label;
      b.classList.toggle('secondary', ok !== true);
    });
  }

  /**
   * Shows how a transaction ended, in `box` (emptied first), so that success and failure cannot
   * be mistaken: a state word and an icon besides the colour (not colour alone), a heading that
   * says what happened (`head`), then what to do next (`lines`). A success is a polite
   * `status`, a failure an `alert`. The body gets `data-result` (the idle reset's shorter wait)
   * and `data-outcome`, and the exit follows (`finished`).
   */
  function outcome(box, ok, head, lines) {
    function el(tag, cls, text) {
      var e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined) e.textContent = text;
      return e;
    }
    box.textContent = '';
    var wrap = el('div', 'outcome ' + (ok ? 'outcome-ok' : 'outcome-fail'));
    wrap.setAttribute('role', ok ? 'status' : 'alert');
    var icon = el('span', 'icon', ok ? '\u2713' : '\u2715');
    icon.setAttribute('aria-hidden', 'true');
    wrap.appendChild(icon);
    var text = el('div', 'words');
    text.appendChild(el('p', 'state', ok ? t('办理成功', 'Completed') : t('未能办理', 'Not completed')));
    text.appendChild(el('p', 'head', head));
    (lines || []).forEach(function (l) { text.appendChild(el('p', 'next', l)); });
    wrap.appendChild(text);
    box.appendChild(wrap);
    body.setAttribute('data-result', '');
    body.setAttribute('data-outcome', ok ? 'ok' : 'fail');
    finished(ok);
    return wrap;
  }

  window.WujingShell = {
    outcome: outcome,
    finished: finished,
    t: t,
    wipe: wipe,
    useBridge: function (b) { bridge = b; },
    holding: function (f) { holds.push(f); },
    readCard: readCard,
    printPdf: printPdf
  };
  window.WujingKiosk = { wipe: wipe };
})();
