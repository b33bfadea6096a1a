// 网e捷 (docs/KIOSK.md §7.3), on the kiosk shell (shell.js) and the bridge (bridge.js): card read
// → the holder's applications in plain words and fees due; a fee paid on the terminal as at
// 办证易 (the server settles it and answers the receipt once paid), the receipt printed; the
// way of collection changed; an approved G or L endorsement written onto the e-card permit
// while the citizen waits (立等可取: the server produces it and signs the payload, the card
// writer writes it and reads it back, the server checks the read-back and records it
// collected; a write that fails sends the citizen to a counter). A declined card may pay again
// with another card from the outcome screen: the same pending payment is charged again (one
// per purpose, settled once), never a second one. The card's number lives in
// `card` only; the shell's wipe reloads the page.
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
    ['step-menu', 'step-write', 'step-result'].forEach(function (s) { $(s).hidden = s !== step; });
    // No Done while the permit is being written: a wipe then would leave the write unreported.
    $('done').hidden = step === 'step-write';
    if (step !== 'step-result') shell.finished(null);
  }
  function api(path, body) {
    return fetch(path, {
      method: 'POST', credentials: 'same-origin',
      // The server's messages in the screen's language (Chinese until the citizen chose English).
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'Accept-Language': document.body.getAttribute('data-lang') === 'en' ? 'en' : 'zh-CN' },
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
    shell.outcome($('result'), ok, head, lines);
    say('');
    show('step-result');
  }
  var COUNTER = t('请到窗口办理', 'Please go to a counter');

  // `orderNo` is the payment order's number the citizen keeps (the provider's); the row's
  // number only addresses the PDF.
  function printReceipt(id, orderNo) {
    var state = $('print-state');
    if (!(bridge && bridge.ready && bridge.has('printer'))) {
      state.textContent = t('请记下订单号 ', 'Please note order number ') + orderNo;
      return;
    }
    state.textContent = t('正在打印凭条…', 'Printing your receipt…');
    shell.printPdf(bridge, '/kiosk/wej/receipts/' + encodeURIComponent(id) + '/pdf', 'receipt').then(function () {
      state.textContent = t('凭条已打印，请取走', 'Your receipt is printed; please take it');
    }, function () {
      state.textContent = t('未能打印凭条，请记下订单号 ', 'The receipt could not be printed; please note order number ') + orderNo;
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
            [t('您可以换一张卡再付，或到窗口缴费', 'You may pay again with another card, or pay at a counter')]);
            var again = el('button', 'go', t('换一张卡再付', 'Pay again with another card'));
            again.type = 'button';
            again.id = 'retry';
            again.addEventListener('click', function () { payFee(f); });
            $('result').appendChild(again);
            again.focus();
            throw null;
          });
      })
      .then(function (rc) {
        result(true, t('缴费成功 ¥' + rc.amount_yuan, 'Paid: ¥' + rc.amount_yuan), [t(rc.subject_zh, rc.subject_en),
          t('您的申请已提交审批', 'Your application goes to review')]);
        printReceipt(rc.payment_id, rc.order_no);
      })
      .catch(function (err) {
        if (err === null) return;
        result(false, (err && err.message) || t('暂时无法缴费', 'Payment is not possible now'), [COUNTER]);
      })
      .then(function () { busy = false; });
  }

  // A way of collection's name: [zh, en].
  function methodName(m) {
    return m === 'locker' ? ['自助取证机', 'the pickup locker']
      : m === 'mail' ? ['EMS邮寄', 'EMS mail']
        : ['窗口领取', 'a counter'];
  }

  // The way of collection (docs/KIOSK.md §7.3): counter, the hall's pickup locker, or mail to an
  // address typed on the machine's keyboard; saved with the card's number as the proof.
  function chooseCollection(a) {
    var box = $('result');
    box.textContent = '';
    var wrap = el('div', 'collection');
    wrap.appendChild(el('h2', null, t('选择领证方式', 'How do you want to receive it?')));
    wrap.appendChild(el('p', null, t(a.business_zh, a.business_en)));
    var address = el('input');
    address.id = 'mail-address';
    address.maxLength = 120;
    address.autocomplete = 'off';
    address.setAttribute('data-wipe', '');
    var label = el('label', null, t('邮寄地址（一行，8 到 120 个字）', 'Mail address (one line, 8 to 120 characters)'));
    label.htmlFor = 'mail-address';
    var mailBox = el('div', 'mail');
    mailBox.hidden = true;
    mailBox.appendChild(label);
    mailBox.appendChild(address);
    var send = el('button', 'go', t('确认邮寄', 'Send it by mail'));
    send.type = 'button';
    send.addEventListener('click', function () { save(a, 'mail', address.value); });
    mailBox.appendChild(send);
    var choices = el('div', 'choices');
    [['counter', t('到受理大厅窗口领取', 'At a counter of the accepting hall')],
      ['locker', t('大厅自助取证机（24小时，凭身份证和短信取件码）', "From the hall's pickup locker (24 h, ID card and a code by text)")],
      ['mail', t('EMS邮寄到家', 'By EMS mail to your address')]].forEach(function (c) {
      var b = el('button', 'choice', c[1]);
      b.type = 'button';
      b.setAttribute('data-method', c[0]);
      if (c[0] === a.collection_method) b.setAttribute('aria-pressed', 'true');
      b.addEventListener('click', function () {
        if (c[0] === 'mail') { mailBox.hidden = false; address.focus(); } else save(a, c[0], null);
      });
      choices.appendChild(b);
    });
    wrap.appendChild(choices);
    wrap.appendChild(mailBox);
    box.appendChild(wrap);
    say('');
    show('step-result');
  }

  function save(a, method, address) {
    if (busy) return;
    busy = true;
    var body = { id_number: card.id_number, application: a.id, method: method };
    if (address !== null) body.mail_address = address;
    api('/api/v1/kiosk/wej/collection', body).then(function (v) {
      var how = methodName(v.collection_method);
      result(true, t('领证方式已改为：' + how[0], 'You will receive it by ' + how[1]), [
        t(v.business_zh, v.business_en),
        v.collection_method === 'locker'
          ? t('证件放入取证机后，取件码将以短信发给您', 'When the document is in the locker, its code is sent to you by text')
          : v.collection_method === 'mail'
            ? t('证件制好后将按您填写的地址寄出', 'The document is mailed to the address you gave once it is made')
            : t('证件制好后将短信通知您到窗口领取', 'You will get a text when it is ready at the counter')]);
    }, function (err) {
      if (err && err.code === 'mail_address_invalid') {
        busy = false;
        say(t('邮寄地址须为一行，8 到 120 个字，请重新填写', 'The mail address must be one line of 8 to 120 characters; please type it again'));
        return;
      }
      result(false, (err && err.message) || t('暂时无法更改', 'This cannot be changed now'), [COUNTER]);
    }).then(function () { busy = false; });
  }

  // 立等可取 (docs/KIOSK.md §7.3): produced and signed by the server, written by the card
  // writer, its read-back checked by the server; any failure leaves the endorsement made and
  // the citizen's, written at a counter.
  function writeOnSite(a) {
    if (busy) return;
    busy = true;
    $('write-what').textContent = t(a.business_zh, a.business_en);
    say('');
    show('step-write');
    var path = '/api/v1/kiosk/wej/writes/' + encodeURIComponent(a.id);
    var signed = null;
    api('/api/v1/kiosk/wej/writes', { id_number: card.id_number, application: a.id })
      .then(function (w) {
        signed = w;
        $('write-state').textContent = t('正在写入，请勿取走证件…', 'Writing; please leave the permit where it is…');
        return bridge.request('card_writer.write_endorsement', {
          document_number: w.permit_number,
          endorsement: { type: w.endorsement.type, valid_until: w.endorsement.valid_until, entries: w.endorsement.entries,
            destinations: w.lines.map(function (x) { return x.destination; }) },
          payload: w.payload
        }, 60000).then(function (r) {
          $('write-state').textContent = t('正在核对…', 'Checking…');
          return api(path + '/written', { id_number: card.id_number, read_back_sha256: String((r && r.read_back_sha256) || '') });
        }, function (err) {
          var reason = err && err.code === 'timeout' ? 'timeout' : 'write_failed';
          return api(path + '/failed', { id_number: card.id_number, reason: reason }).then(function (o) {
            result(false, t('写卡未成功，签注未写入证件', 'The permit could not be written; the endorsement is not on it'), [t(o.next_zh, o.next_en)]);
            throw null;
          }, function () {
            result(false, t('写卡未成功，签注未写入证件', 'The permit could not be written'), [AT_COUNTER]);
            throw null;
          });
        });
      })
      .then(function (o) {
        var lines = signed.lines.map(function (x) {
          return (x.destination === 'hk' ? t('香港', 'Hong Kong') : t('澳门', 'Macao')) + ' ' + x.type + ' · ' +
            (x.entries === 2 ? t('两次', 'two entries') : t('一次', 'one entry')) + ' · ' + t('有效期至 ', 'valid until ') + x.valid_until;
        });
        lines.push(t(o.next_zh, o.next_en));
        result(true, t(o.message_zh, o.message_en), lines);
      })
      .catch(function (err) {
        if (err === null) return;
        result(false, (err && err.message) || t('暂时无法写入', 'This cannot be written now'),
          [err && err.code === 'onsite_write_mismatch' ? AT_COUNTER : COUNTER]);
      })
      .then(function () { busy = false; });
  }
  var AT_COUNTER = t('签注已制好，仍归您所有：请持通行证和身份证到窗口写入',
    'It is made and stays yours: bring your permit and ID card to a counter to have it written');

  function render(v) {
    $('holder').textContent = t('持证人 ', 'Card holder ') + v.holder;
    var apps = $('apps');
    apps.textContent = '';
    if (!v.applications.length) apps.appendChild(el('li', 'none', t('暂无已受理的申请', 'No application accepted yet')));
    v.applications.forEach(function (a) {
      var li = el('li');
      li.appendChild(el('span', 'what', t(a.business_zh, a.business_en) + ' · ' + t(a.hall_zh, a.hall_en)));
      // The state stands alone here: its English capitalised like a label ("Accepted").
      var en = a.status_en ? a.status_en.charAt(0).toUpperCase() + a.status_en.slice(1) : '';
      li.appendChild(el('strong', 'state', t(a.status_zh, en)));
      if (a.ready_by) li.appendChild(el('span', null, t('预计 ' + a.ready_by + ' 前办结', 'Expected by ' + a.ready_by)));
      var how = methodName(a.collection_method);
      li.appendChild(el('span', 'how', t('领证方式：' + how[0], 'Collection: ' + how[1])));
      if (a.can_write_here && bridge && bridge.has('card_writer')) {
        var w = el('button', 'go', t('写入证件（立等可取）', 'Write it onto my permit now'));
        w.type = 'button';
        w.setAttribute('data-write', String(a.id));
        w.addEventListener('click', function () { writeOnSite(a); });
        li.appendChild(w);
      }
      if (a.can_choose_collection) {
        var b = el('button', 'secondary', t('更改领证方式', 'Change how I receive it'));
        b.type = 'button';
        b.addEventListener('click', function () { chooseCollection(a); });
        li.appendChild(b);
      }
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
