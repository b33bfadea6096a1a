// 网e捷 (docs/KIOSK.md §7.3), on the kiosk shell (shell.js) and the bridge (bridge.js): card read
// → the holder's applications in plain words and fees due; a fee paid on the terminal as at
// 办证易 (the server settles it and answers the receipt once paid), the receipt printed. The
// card's number lives in `card` only; the shell's wipe reloads the page.
(function () {
  'use strict';
  var shell = window.WujingShell;
  var t = shell.t;
  var card = null;
  var busy = false;
  shell.holding(function () { return card !== null; });
  function $(id) { return document.getElementById(id); }
  function say(text) { $('say-text').textContent = text; $('say').hidden = !text; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function show(step) {
    ['step-menu', 'step-result'].forEach(function (s) { $(s).hidden = s !== step; });
    $('done').hidden = false;
  }
  function api(path, body) {
    return fetch(path, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.status === 204) return {};
      return r.json().then(function (j) {
        if (!r.ok) throw (j && j.error) || { code: 'http_' + r.status };
        return j;
      }, function () { throw { code: 'http_' + r.status }; });
    });
  }
  function result(ok, head, lines) {
    var box = $('result');
    box.textContent = '';
    var wrap = el('div', ok ? 'done-box' : 'err');
    wrap.setAttribute('role', ok ? 'status' : 'alert');
    wrap.appendChild(el('p', 'head', head));
    (lines || []).forEach(function (l) { wrap.appendChild(el('p', 'next', l)); });
    box.appendChild(wrap);
    document.body.setAttribute('data-result', '');
    say('');
    show('step-result');
  }
  var COUNTER = t('请到窗口办理', 'Please go to a counter');

  function printReceipt(id) {
    var state = $('print-state');
    if (!(bridge && bridge.ready && bridge.has('printer'))) {
      state.textContent = t('请记下缴费编号 ', 'Please note payment number ') + id;
      return;
    }
    state.textContent = t('正在打印凭条…', 'Printing your receipt…');
    shell.printPdf(bridge, '/kiosk/wej/receipts/' + encodeURIComponent(id) + '/pdf', 'receipt').then(function () {
      state.textContent = t('凭条已打印，请取走', 'Your receipt is printed; please take it');
    }, function () {
      state.textContent = t('未能打印凭条，请记下缴费编号 ', 'The receipt could not be printed; please note payment number ') + id;
    });
  }

  function payFee(f) {
    if (busy) return;
    busy = true;
    api('/api/v1/kiosk/wej/payments', { id_number: card.id_number, purpose_kind: f.purpose_kind, purpose_id: f.purpose_id })
      .then(function (c) {
        say(t('请在刷卡器上付款 ¥', 'Please pay on the terminal: ¥') + c.amount_yuan);
        return bridge.request('payment.charge', { amount_fen: c.amount_fen, method: 'card', reference: c.reference }, 120000)
          .then(function (r) {
            say(t('正在确认付款…', 'Confirming the payment…'));
            return api('/api/v1/kiosk/wej/payments/' + c.payment_id + '/paid', { id_number: card.id_number, transaction_id: String((r && r.transaction_id) || '') });
          }, function (err) {
            api('/api/v1/kiosk/wej/payments/' + c.payment_id + '/declined', { id_number: card.id_number, code: (err && err.code) || 'declined' }).catch(function () {});
            result(false, err && err.code === 'declined'
              ? t('付款未成功：银行卡或钱包拒绝了这笔付款，未扣费', 'The payment was declined by the bank or wallet; nothing was taken')
              : t('付款未完成，未扣费', 'The payment did not go through; nothing was taken'),
            [t('您可以换一张卡再试，或到窗口缴费', 'You may try another card, or pay at a counter')]);
            throw null;
          });
      })
      .then(function (rc) {
        result(true, t('缴费成功 ¥', 'Paid: ¥') + rc.amount_yuan, [t(rc.subject_zh, rc.subject_en),
          t('您的申请已提交审批', 'Your application goes to review')]);
        printReceipt(rc.payment_id);
      })
      .catch(function (err) {
        if (err === null) return;
        result(false, (err && err.message) || t('暂时无法缴费', 'Payment is not possible now'), [COUNTER]);
      })
      .then(function () { busy = false; });
  }

  function render(v) {
    $('holder').textContent = t('持证人 ', 'Card holder ') + v.holder;
    var apps = $('apps');
    apps.textContent = '';
    if (!v.applications.length) apps.appendChild(el('li', 'none', t('没有申请记录', 'No applications')));
    v.applications.forEach(function (a) {
      var li = el('li');
      li.appendChild(el('span', 'what', t(a.business_zh, a.business_en) + ' · ' + t(a.hall_zh, a.hall_en)));
      li.appendChild(el('strong', 'state', t(a.status_zh, a.status_en)));
      if (a.ready_by) li.appendChild(el('span', null, t('预计 ', 'expected by ') + a.ready_by));
      apps.appendChild(li);
    });
    var fees = $('fees');
    fees.textContent = '';
    if (!v.fees.length) fees.appendChild(el('li', 'none', t('没有待缴费用', 'No fees due')));
    v.fees.forEach(function (f) {
      var li = el('li');
      li.appendChild(el('span', 'what', t(f.business_zh, f.business_en) + ' · ' + f.reference));
      li.appendChild(el('strong', 'amount', '¥' + f.amount_yuan));
      var b = el('button', 'go', t('缴费', 'Pay'));
      b.type = 'button';
      b.addEventListener('click', function () { payFee(f); });
      li.appendChild(b);
      fees.appendChild(li);
    });
    say('');
    show('step-menu');
  }

  $('done').addEventListener('click', function () { shell.wipe(); });

  var bridge = window.WujingBridge.start('wej', {
    ready: function (b) {
      if (card) return;
      shell.readCard(b, 'id_card.read', {
        say: say,
        read: function (c) {
          card = { id_number: c.id_number };
          say(t('正在查询…', 'Looking you up…'));
          api('/api/v1/kiosk/wej/status', { id_number: card.id_number }).then(render, function (err) {
            result(false, (err && err.message) || t('暂时无法查询', 'This cannot be looked up now'), [COUNTER]);
          });
        },
        unavailable: function () { say(t('读卡器暂不可用，请到窗口查询', 'The card reader is not available; please ask at a counter')); }
      });
    },
    down: function () { if (!card) say(t('读卡器暂不可用，请到窗口查询', 'The card reader is not available; please ask at a counter')); }
  });
  shell.useBridge(bridge);
})();
