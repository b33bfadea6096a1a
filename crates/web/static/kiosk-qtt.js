// 前台通 (docs/KIOSK.md §7.2): the machine on the citizen's side of one counter window, on the
// kiosk shell (shell.js) and the peripheral bridge (bridge.js).
//
// - While the window serves a ticket, the ID card read on this machine goes into the
//   officer's console of the same window (the server files it under the ticket served there;
//   this machine cannot address another window). The screen shows the name masked.
// - Once the officer has started the ticket and a fee is due, the citizen pays it on the
//   terminal (`payment.charge`, the amount and reference named by the server); the server
//   records it as the window's fee, or refuses, and the screen says what the server said. A
//   payment declined or not completed on the terminal ends like the other machines' (shell.js
//   `outcome`: not completed, nothing taken, what to do next), with "pay again with another
//   card" and "pay by QR code" beside it: the same fee of the same window is charged again
//   (the server records a window's fee once, so a second attempt never takes it twice).
// - Paid (or nothing to pay), the machine becomes the window's rating terminal.
(function () {
  'use strict';
  var shell = window.WujingShell;
  var t = shell.t;
  var body = document.body;
  var rate = body.getAttribute('data-rate');
  var bridge = null;
  var win = null;
  var cardFor = null; // the ticket whose card was read
  var paying = false;
  var declined = false; // a failed payment's outcome is on the screen
  var stopReading = null;

  var err = document.getElementById('err');
  var status = document.getElementById('status');
  shell.holding(function () { return cardFor !== null; });

  function say(text) { status.textContent = text || ''; }
  function fail(text, next) {
    err.textContent = '';
    [text, next].forEach(function (s, i) {
      if (!s) return;
      var p = document.createElement('p');
      if (i) p.className = 'help';
      p.textContent = s;
      err.appendChild(p);
    });
    err.hidden = false;
  }
  function clearErr() { err.hidden = true; err.textContent = ''; }
  function call(method, path, payload) {
    return fetch(path, {
      method: method,
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: payload === undefined ? undefined : JSON.stringify(payload)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) throw (b && b.error) || { code: 'http_' + r.status };
        return b;
      });
    });
  }

  /** Polls the window: what is served, whether a fee is due and paid. */
  function poll() {
    call('GET', '/api/v1/kiosk/qtt/window').then(function (w) {
      win = w;
      if (!w.ticket) {
        if (stopReading) { stopReading(); stopReading = null; }
        cardFor = null;
        document.getElementById('card').hidden = true;
        document.getElementById('fee').hidden = true;
        document.getElementById('declined').hidden = true;
        declined = false;
        say(t('请等待工作人员叫号', 'Please wait for the officer to call your number'));
        return;
      }
      if (cardFor !== w.ticket && !stopReading && bridge && bridge.ready) readCard(w.ticket);
      if (w.paid) {
        done(t('费用已缴，谢谢', 'The fee is paid; thank you'));
        return;
      }
      if (w.amount_fen && !paying && !declined) {
        document.getElementById('fee').hidden = false;
        document.getElementById('amount').textContent =
          t('应缴费用 ' + (w.amount_fen / 100).toFixed(2) + ' 元', 'Fee due ' + (w.amount_fen / 100).toFixed(2) + ' yuan');
        say(t('请选择支付方式', 'Choose how to pay'));
      }
    }).catch(function () { /* the next poll tries again */ });
  }

  function readCard(ticket) {
    document.getElementById('card').hidden = false;
    say(t(ticket + ' 号请读取身份证', 'Number ' + ticket + ': please put your ID card on the reader'));
    stopReading = shell.readCard(bridge, 'id_card.read', {
      say: function (text) { document.getElementById('reader-text').textContent = text; },
      read: function (card) {
        // The number and the name go to the officer's console; nothing else is sent or kept.
        call('POST', '/api/v1/kiosk/qtt/card', { id_number: card.id_number, name: card.name || '' }).then(function (v) {
          card = null;
          stopReading = null;
          cardFor = v.ticket;
          clearErr();
          document.getElementById('reader').hidden = true;
          document.getElementById('card-done').textContent =
            t('已读取：' + v.name_masked + '，工作人员正在核对', 'Card read: ' + v.name_masked + '; the officer is checking it');
          say('');
          poll();
        }, function (e) {
          card = null;
          stopReading = null;
          fail(e.message || t('未能读取，请重新放置身份证', 'The card could not be read; please put it on the reader again'),
            t('请等待工作人员叫号后再读卡', 'Wait until the officer calls your number, then read the card'));
        });
      },
      unavailable: function () {
        stopReading = null;
        fail(t('读卡器暂不可用', 'The card reader is not available'), t('请将身份证交给工作人员核对', 'Please hand your ID card to the officer'));
      }
    });
  }

  /** A payment that did not go through: how it ended, nothing taken, and the ways on. */
  function notPaid(head, next) {
    declined = true;
    document.getElementById('fee').hidden = true;
    document.getElementById('declined').hidden = false;
    shell.outcome(document.getElementById('declined-box'), false, head, next);
    document.getElementById('retry').focus();
  }

  /** Charges the window's fee on the terminal by `method` (`card` or `qr`). */
  function pay(method) {
    if (!win || !win.amount_fen || paying) return;
    if (!bridge || !bridge.has('payment')) {
      fail(t('支付终端暂不可用', 'The payment terminal is not available'), t('请工作人员在窗口收费', 'Please ask the officer to take the fee'));
      return;
    }
    paying = true;
    declined = false;
    clearErr();
    document.getElementById('declined').hidden = true;
    document.getElementById('fee').hidden = false;
    shell.finished(null);
    say(method === 'qr' ? t('请出示付款码', 'Please show your payment code') : t('请插卡或挥卡，按提示输入密码', 'Insert or tap your card and follow the terminal'));
    bridge.request('payment.charge', { amount_fen: win.amount_fen, method: method, reference: win.reference }, 120000)
      .then(function (r) {
        // The server, not this page, decides that the fee is paid.
        return call('POST', '/api/v1/kiosk/qtt/payment', {
          transaction_id: r.transaction_id, method: r.method || method, amount_fen: Number(r.amount_fen || win.amount_fen)
        }).then(function (p) {
          done(t('缴费成功，收据号 ' + p.receipt_no, 'Paid; receipt ' + p.receipt_no));
        }, function (e) {
          paying = false;
          say('');
          fail(e.message || t('缴费未能入账', 'The payment was not recorded'), t('请联系工作人员', 'Please ask the officer'));
        });
      }, function (e) {
        paying = false;
        say('');
        if (e && e.code === 'declined') {
          notPaid(t('付款未成功：银行卡或钱包拒绝了这笔付款，未扣费', 'The payment was declined by the bank or wallet; nothing was taken'),
            [t('您可以换一张卡再付，或改用扫码支付；也可请工作人员协助', 'You may pay again with another card or by QR code, or ask the officer for help')]);
        } else if (e && (e.code === 'timeout' || e.code === 'cancelled')) {
          notPaid(t('付款未完成，未扣费', 'The payment did not go through; nothing was taken'),
            [t('您可以再付一次，或改用扫码支付；也可请工作人员协助', 'You may pay again, or by QR code, or ask the officer for help')]);
        } else {
          fail(t('支付终端暂不可用', 'The payment terminal is not available'), t('请工作人员在窗口收费', 'Please ask the officer to take the fee'));
        }
      });
  }
  document.querySelectorAll('[data-method]').forEach(function (b) {
    b.addEventListener('click', function () { pay(b.getAttribute('data-method')); });
  });
  document.querySelectorAll('[data-again]').forEach(function (b) {
    b.addEventListener('click', function () { pay(b.getAttribute('data-again')); });
  });

  var leaving = false;
  /** Paid: a moment to read it, then this machine is the window's rating terminal. */
  function done(text) {
    if (leaving) return;
    leaving = true;
    document.getElementById('fee').hidden = true;
    document.getElementById('card').hidden = true;
    document.getElementById('declined').hidden = true;
    document.getElementById('paid').hidden = false;
    // A success unmistakably (shell.js `outcome`); the rating follows on this screen.
    shell.outcome(document.getElementById('paid-text'), true, text, [t('请对本次服务进行评价', 'Please rate the service')]);
    say('');
    cardFor = null;
    var go = function () { location.replace(rate); };
    setTimeout(function () {
      if (bridge && bridge.ready) bridge.request('session.end').then(go, go);
      else go();
    }, 2500);
  }

  bridge = window.WujingBridge.start('qtt', {
    ready: function (b) {
      shell.useBridge(b);
      poll();
    }
  });
  setInterval(function () { if (!leaving) poll(); }, 2000);
  poll();
})();
