// 办证易 (docs/KIOSK.md §7.1), on the kiosk shell (shell.js) and the bridge (bridge.js).
//
// Card read → the holder's fees due and what endorsement they may renew (the server decides
// both). A fee: the server's payment reference is charged on the terminal (`payment.charge`),
// the terminal's transaction id goes to the server, which settles it with the provider and
// answers the receipt only once the payment is paid; the receipt is printed. A re-issue: the
// chip's photo against a live face (`face.match`: only a match with liveness passed goes on),
// the choice, the charge, the server's signed payload written onto the card
// (`card_writer.write_endorsement`) and its read-back reported. Every failure says why and
// sends the citizen to a counter; a fee taken for a write that failed is refunded by the
// server. A declined card is not the end: the citizen may pay again with another card without
// choosing again — the same server payment (one pending per purpose, settled once) is charged
// again, so a second attempt can never take the money twice. Nothing of the citizen is kept past the session: the card's data lives in `card`
// only, and the shell's wipe reloads the page.
(function () {
  'use strict';
  var shell = window.WujingShell;
  var t = shell.t;
  var card = null;
  var reissue = null;
  var offer = null;
  var busy = false;
  // The re-issue's payment was declined and may be tried again: leaving now fails it.
  var declined = false;
  shell.holding(function () { return card !== null; });

  function $(id) { return document.getElementById(id); }
  function show(step) {
    ['step-menu', 'step-choose', 'step-result'].forEach(function (s) { $(s).hidden = s !== step; });
    // The choice has its own Cancel, which closes the open re-issue.
    $('done').hidden = step === null || step === 'step-choose';
    if (step !== 'step-result') shell.finished(null);
  }
  function say(text) {
    $('say-text').textContent = text;
    $('say').hidden = !text;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // What the citizen is told for each refusal (the server's `details.reason`) and error code.
  var REASONS = {
    not_in_registry: ['没有查到您的户籍信息', 'Your registry record was not found'],
    state_functionary: ['登记备案的国家工作人员不能自助办理签注，请持审批材料', 'Registered state functionaries cannot renew at a kiosk; bring your approval'],
    military: ['现役军人不能自助办理签注', 'Serving military personnel cannot renew at a kiosk'],
    no_permit: ['没有查到有效的往来港澳通行证', 'No valid permit for HK and Macao was found'],
    not_e_card: ['本机只能为电子往来港澳通行证办理签注', 'The kiosk renews endorsements on the e-card permit only'],
    first_endorsement: ['首次签注须到窗口办理', 'A first endorsement is done at a counter'],
    validity_too_short: ['通行证有效期不足4个月，请先换领通行证', 'Your permit expires within 4 months; renew the permit first'],
    type_not_allowed: ['非广东户籍只能自助办理团队旅游（L）签注', 'Outside Guangdong residence, only the group tour (L) endorsement is renewed here'],
    option_not_allowed: ['所选的有效期或次数不能办理', 'That validity or number of entries cannot be issued']
  };
  var CODES = {
    face_not_verified: ['人像比对未通过', 'The face check did not pass'],
    endorsement_reissue_in_progress: ['该通行证正在另一台自助机上办理签注', 'This permit is being renewed at another kiosk'],
    kiosk_payment_not_confirmed: ['支付机构尚未确认这笔付款', 'The payment provider has not confirmed the payment'],
    card_write_mismatch: ['写卡回读不一致，签注未写入', 'The card read back something else; nothing was written'],
    payments_disabled: ['本机暂不能收费', 'This kiosk cannot take payments now'],
    payment_provider_failed: ['支付服务暂不可用', 'The payment service is not available']
  };
  var COUNTER = ['请到窗口办理', 'Please go to a counter'];

  function words(pair) { return t(pair[0], pair[1]); }
  function why(err) {
    var reason = err && err.details && err.details.reason;
    if (reason && REASONS[reason]) return words(REASONS[reason]);
    if (err && CODES[err.code]) return words(CODES[err.code]);
    return (err && err.message) || t('暂时无法办理', 'This cannot be done now');
  }

  function api(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
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

  /** The end of a flow: what happened, and the next step. `ok` false shows it as an error. */
  function result(ok, head, lines) {
    shell.outcome($('result'), ok, head, lines);
    say('');
    show('step-result');
  }
  function toCounter(head, extra) {
    result(false, head, (extra || []).concat([words(COUNTER)]));
  }

  // `orderNo` is the payment order's number the citizen keeps (the provider's); the row's
  // number only addresses the PDF.
  function printReceipt(paymentId, orderNo) {
    var state = $('print-state');
    if (!(bridge && bridge.ready && bridge.has('printer'))) {
      state.textContent = t('本机无打印机，请记下订单号 ', 'No printer here; please note order number ') + orderNo;
      return;
    }
    state.textContent = t('正在打印凭条…', 'Printing your receipt…');
    shell.printPdf(bridge, '/kiosk/bzy/receipts/' + encodeURIComponent(paymentId) + '/pdf', 'receipt').then(function () {
      state.textContent = t('凭条已打印，请取走', 'Your receipt is printed; please take it');
    }, function () {
      state.textContent = t('未能打印凭条，请记下订单号 ', 'The receipt could not be printed; please note order number ') + orderNo;
    });
  }

  /** Charges the terminal; resolves with the transaction id, rejects with the bridge's error. */
  function charge(c) {
    say(t('请在刷卡器上付款 ¥', 'Please pay on the terminal: ¥') + c.amount_yuan);
    return bridge.request('payment.charge', {
      amount_fen: c.amount_fen, method: 'card', reference: c.reference
    }, 120000).then(function (r) {
      if (!r || !r.transaction_id) throw { code: 'declined' };
      return r.transaction_id;
    });
  }

  /** A declined payment: told so, with "pay again" (another card) beside the exit. */
  function declinedResult(err, lines, again) {
    result(false, declinedText(err), lines);
    var b = el('button', 'go', t('换一张卡再付', 'Pay again with another card'));
    b.type = 'button';
    b.id = 'retry';
    b.addEventListener('click', function () { if (!busy) again(); });
    $('result').appendChild(b);
    b.focus();
  }

  function declinedText(err) {
    return err && err.code === 'declined'
      ? t('付款未成功：银行卡或钱包拒绝了这笔付款，未扣费', 'The payment was declined by the bank or wallet; nothing was taken')
      : t('付款未完成，未扣费', 'The payment did not go through; nothing was taken');
  }

  // --- Fees due ---------------------------------------------------------------------------
  function payFee(fee) {
    if (busy) return;
    busy = true;
    var pay;
    api('/api/v1/kiosk/bzy/payments', { id_number: card.id_number, purpose_kind: fee.purpose_kind, purpose_id: fee.purpose_id })
      .then(function (c) {
        pay = c;
        return charge(c).then(function (tx) {
          say(t('正在确认付款…', 'Confirming the payment…'));
          return api('/api/v1/kiosk/bzy/payments/' + c.payment_id + '/paid', { id_number: card.id_number, transaction_id: tx });
        }, function (err) {
          api('/api/v1/kiosk/bzy/payments/' + c.payment_id + '/declined', { id_number: card.id_number, code: (err && err.code) || 'declined' }).catch(function () {});
          declinedResult(err, [t('您可以换一张卡再付，或到窗口缴费', 'You may pay again with another card, or pay at a counter')],
            function () { payFee(fee); });
          throw null;
        });
      })
      .then(function (receipt) {
        result(true, t('缴费成功 ¥' + receipt.amount_yuan, 'Paid: ¥' + receipt.amount_yuan), [
          t(receipt.subject_zh, receipt.subject_en),
          t('订单号 ', 'Order number ') + receipt.order_no,
          t('您的申请已提交审批，进度可在网上或网e捷查询', 'Your application goes to review; follow it online or at a 网e捷 kiosk')
        ]);
        printReceipt(receipt.payment_id, receipt.order_no);
      })
      .catch(function (err) {
        if (err === null) return;
        toCounter(why(err), pay ? [t('如已扣款，将由支付机构退回', 'Anything taken is returned by the payment provider')] : []);
      })
      .then(function () { busy = false; });
  }

  function renderFees(list) {
    var ul = $('fees');
    ul.textContent = '';
    if (!list.fees.length) {
      ul.appendChild(el('li', 'none', t('没有待缴费用', 'No fees due')));
      return;
    }
    list.fees.forEach(function (f) {
      var li = el('li');
      li.appendChild(el('span', 'what', t(f.business_zh, f.business_en) + ' · ' + f.reference));
      li.appendChild(el('strong', 'amount', '¥' + f.amount_yuan));
      var b = el('button', 'go', t('缴费', 'Pay'));
      b.type = 'button';
      b.addEventListener('click', function () { payFee(f); });
      li.appendChild(b);
      ul.appendChild(li);
    });
  }

  // --- The endorsement ----------------------------------------------------------------------
  function renderOffer(o, err) {
    var box = $('offer');
    box.textContent = '';
    if (err) {
      var e = el('div', 'err');
      e.setAttribute('role', 'alert');
      e.appendChild(el('p', null, why(err)));
      e.appendChild(el('p', 'help', words(COUNTER)));
      box.appendChild(e);
      return;
    }
    offer = o;
    box.appendChild(el('p', null, t('通行证 ', 'Permit ') + o.permit + t('，有效期至 ', ', valid until ') + o.permit_expires_on));
    box.appendChild(el('p', null, t('可办理：', 'You may renew: ') + o.types.map(function (k) {
      return k === 'G' ? t('个人旅游G', 'individual tour G') : t('团队旅游L', 'group tour L');
    }).join(' / ')));
    var b = el('button', 'go', t('开始办理（需人像比对）', 'Start (face check first)'));
    b.type = 'button';
    b.id = 'start-reissue';
    b.addEventListener('click', startReissue);
    box.appendChild(b);
  }

  function startReissue() {
    if (busy) return;
    if (!card.photo_jpeg || !(bridge && bridge.ready)) {
      toCounter(t('未能读取证件照片', 'The card photo could not be read'));
      return;
    }
    busy = true;
    say(t('请正视摄像头，保持不动…', 'Please look at the camera and keep still…'));
    bridge.request('face.match', { reference_jpeg: card.photo_jpeg }, 15000)
      .then(function (f) {
        return api('/api/v1/kiosk/bzy/endorsements', {
          id_number: card.id_number,
          face: { match: !!f.match, score: Number(f.score) || 0, threshold: Number(f.threshold) || 1, liveness: String(f.liveness || 'failed'), provider: String(f.provider || '') }
        });
      }, function () {
        throw { code: 'face_not_verified' };
      })
      .then(function (opened) {
        reissue = opened.id;
        offer = opened.offer;
        say('');
        chooseStep();
      })
      .catch(function (err) { toCounter(why(err)); })
      .then(function () { busy = false; });
  }

  function checked(name) {
    var c = document.querySelector('input[name=' + name + ']:checked');
    return c ? c.value : null;
  }
  function destinations() {
    var d = checked('dest');
    return d === 'both' ? ['hk', 'macau'] : [d];
  }

  function chooseStep() {
    document.querySelectorAll('#types label').forEach(function (l) {
      var ok = offer.types.indexOf(l.getAttribute('data-type')) >= 0;
      l.hidden = !ok;
      l.querySelector('input').disabled = !ok;
    });
    var first = document.querySelector('#types input:not([disabled])');
    if (first) first.checked = true;
    renderOptions();
    show('step-choose');
  }

  function renderOptions() {
    var box = $('options');
    var kind = checked('kind');
    var dest = destinations();
    var prev = checked('option');
    box.textContent = '';
    offer.options.forEach(function (o) {
      var macau = o.macau_types.indexOf(kind) >= 0;
      var ok = dest.indexOf('macau') < 0 || macau;
      var l = el('label');
      var i = el('input');
      i.type = 'radio';
      i.name = 'option';
      i.value = o.option;
      i.disabled = !ok;
      i.checked = ok && o.option === prev;
      i.setAttribute('data-fee', o.fee_yuan);
      l.appendChild(i);
      l.appendChild(document.createTextNode(' ' + (o.months === 12 ? t('1年', '1 year') : t('3个月', '3 months')) +
        ' · ' + (o.entries === 2 ? t('两次', 'two entries') : t('一次', 'one entry')) + ' · ¥' + o.fee_yuan +
        (ok ? '' : t('（澳门不设）', ' (not for Macao)'))));
      box.appendChild(l);
    });
    total();
  }

  function total() {
    var opt = document.querySelector('input[name=option]:checked');
    var pay = $('pay-reissue');
    if (!opt) {
      $('total').textContent = t('请选择有效期和次数', 'Choose the validity and entries');
      pay.disabled = true;
      return;
    }
    var sum = Number(opt.getAttribute('data-fee')) * destinations().length;
    $('total').textContent = t('应缴 ¥' + sum, 'To pay: ¥' + sum);
    pay.disabled = false;
  }

  document.querySelectorAll('input[name=dest], input[name=kind]').forEach(function (i) {
    i.addEventListener('change', renderOptions);
  });
  $('options').addEventListener('change', total);

  function fail(reason) {
    return api('/api/v1/kiosk/bzy/endorsements/' + reissue + '/failed', { reason: reason })
      .catch(function () { return { refunded: false }; });
  }

  function payReissue() {
    if (busy) return;
    busy = true;
    $('pay-reissue').disabled = true;
    var id = reissue;
    api('/api/v1/kiosk/bzy/endorsements/' + id + '/choice', {
      id_number: card.id_number, kind: checked('kind'), destinations: destinations(), option: checked('option')
    })
      .then(function (c) { busy = false; settleReissue(id, c.charge); }, function (err) {
        fail('cancelled').then(function () { toCounter(why(err)); busy = false; });
      });
  }

  /** Charges the chosen re-issue on the terminal, then writes it; after a decline the same
   * charge may be tried again (`#retry`). */
  function settleReissue(id, ch) {
    if (busy) return;
    busy = true;
    declined = false;
    var signed;
    var paymentId = ch.payment_id;
    charge(ch)
      .then(function (tx) {
        say(t('正在确认付款…', 'Confirming the payment…'));
        return api('/api/v1/kiosk/bzy/endorsements/' + id + '/paid', { id_number: card.id_number, transaction_id: tx });
      }, function (err) {
        declined = true;
        declinedResult(err, [t('签注尚未办理。您可以换一张卡再付，或按“返回首页”到窗口办理', 'No endorsement is issued yet. You may pay again with another card, or press \u201cBack to start\u201d and go to a counter')],
          function () { settleReissue(id, ch); });
        throw null;
      })
      .then(function (s) {
        signed = s;
        say(t('正在写入通行证，请勿取走证件…', 'Writing onto your permit; please leave it in the reader…'));
        var l = s.lines[0];
        return bridge.request('card_writer.write_endorsement', {
          document_number: s.document_number,
          endorsement: { type: l.type, valid_until: l.valid_until, entries: l.entries, destinations: s.lines.map(function (x) { return x.destination; }) },
          payload: s.payload
        }, 60000).then(function (w) {
          return api('/api/v1/kiosk/bzy/endorsements/' + id + '/written', { read_back_sha256: String((w && w.read_back_sha256) || '') });
        }, function () {
          return fail('write_failed').then(function (out) {
            toCounter(t('写卡未成功，签注未写入', 'The permit could not be written; no endorsement was issued'),
              [out.refunded ? t('已缴费用将原路退回', 'Your payment is being refunded') : t('如已扣款，将原路退回', 'Anything taken will be refunded')]);
            throw null;
          });
        });
      })
      .then(function () {
        var l = signed.lines;
        result(true, t('签注已写入通行证，请取回证件', 'The endorsement is on your permit; please take it back'),
          l.map(function (x) {
            return (x.destination === 'hk' ? t('香港', 'Hong Kong') : t('澳门', 'Macao')) + ' ' + x.type + ' · ' +
              (x.entries === 2 ? t('两次', 'two entries') : t('一次', 'one entry')) + ' · ' + t('有效期至 ', 'valid until ') + x.valid_until;
          }));
        printReceipt(paymentId, ch.reference);
      })
      .catch(function (err) {
        if (err === null) return;
        if (err && err.code === 'card_write_mismatch') {
          toCounter(why(err), [t('已缴费用将原路退回', 'Your payment is being refunded')]);
          return;
        }
        fail('cancelled').then(function (out) {
          toCounter(why(err), out.refunded ? [t('已缴费用将原路退回', 'Your payment is being refunded')] : []);
        });
      })
      .then(function () { busy = false; });
  }

  $('pay-reissue').addEventListener('click', payReissue);
  $('cancel').addEventListener('click', function () {
    if (reissue) fail('cancelled');
    shell.wipe();
  });
  $('done').addEventListener('click', function () {
    // A re-issue left after a declined payment is closed now, not when the sweeper finds it.
    if (reissue && declined) fail('payment_declined').then(function () { shell.wipe(); });
    else shell.wipe();
  });

  // --- The card -------------------------------------------------------------------------------
  function read(b) {
    shell.readCard(b, 'id_card.read', {
      say: say,
      read: function (c) {
        // Only what the flow needs: the number for the server, the chip's photo for the face
        // match on this machine. The name and address are dropped unread.
        card = { id_number: c.id_number, photo_jpeg: c.photo_jpeg || null };
        say(t('正在查询…', 'Looking you up…'));
        Promise.all([
          api('/api/v1/kiosk/bzy/fees', { id_number: card.id_number }),
          api('/api/v1/kiosk/bzy/endorsements/offer', { id_number: card.id_number }).then(function (o) { return [o, null]; }, function (e) { return [null, e]; })
        ]).then(function (r) {
          $('holder').textContent = t('持证人 ', 'Card holder ') + r[0].holder;
          renderFees(r[0]);
          renderOffer(r[1][0], r[1][1]);
          say('');
          show('step-menu');
        }, function (err) {
          toCounter(why(err));
        });
      },
      unavailable: function () {
        say(t('读卡器暂不可用，请到窗口办理', 'The card reader is not available; please go to a counter'));
      }
    });
  }

  var bridge = window.WujingBridge.start('bzy', {
    ready: function (b) { if (!card) read(b); },
    down: function () {
      if (!card) say(t('读卡器暂不可用，请到窗口办理', 'The card reader is not available; please go to a counter'));
    }
  });
  shell.useBridge(bridge);
})();
