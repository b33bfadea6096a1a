// 填表机 (tbj): the application form filled from the ID card or the passport (docs/KIOSK.md
// §7.5), on the kiosk shell (shell.js) and the bridge (bridge.js).
//
// The citizen chooses the document; the card reader gives the name and number, the passport
// reader the zone's lines (sent as read: the server checks the check digits, and a misread
// asks for a new read). The business of the document's group, the phone on the keypad, and
// the server renders the form, which goes to the bridge's printer. Out of paper: the citizen
// is told to ask the staff. Everything read lives in this script and is wiped with the rest.
(function () {
  'use strict';
  var shell = window.WujingShell;
  var t = shell.t;
  var body = document.body;
  var say = document.getElementById('say');
  var doc = null;
  var business = null;
  var bridge = null;
  var stopReading = null;

  shell.holding(function () { return doc !== null || !document.getElementById('step-done').hidden; });

  function show(step) {
    ['doc', 'business', 'phone', 'done'].forEach(function (s) {
      document.getElementById('step-' + s).hidden = s !== step;
    });
    clearError();
  }
  function clearError() {
    var e = document.querySelector('main .err');
    if (e) e.remove();
  }
  function error(what, next) {
    clearError();
    var e = document.createElement('div');
    e.className = 'err';
    e.setAttribute('role', 'alert');
    [what, next].forEach(function (text, i) {
      if (!text) return;
      var p = document.createElement('p');
      if (i) p.className = 'help';
      p.textContent = text;
      e.appendChild(p);
    });
    document.querySelector('main h1').after(e);
  }
  function done(lines, ok) {
    show('done');
    // The first line says what happened, the rest what to do next (shell.js `outcome`).
    shell.outcome(document.querySelector('#step-done .result'), ok, lines[0], lines.slice(1));
    doc = null;
    document.getElementById('phone').value = '';
    if (bridge && bridge.ready) bridge.request('session.end').catch(function () {});
  }

  // --- The document ----------------------------------------------------------------------------
  function read(op) {
    if (stopReading) stopReading();
    if (!(bridge && bridge.ready)) {
      say.textContent = t('读卡器暂不可用，请到服务台领取空白申请表', 'The readers are not available; please ask at the service desk for a blank form');
      return;
    }
    stopReading = shell.readCard(bridge, op, {
      say: function (text) { say.textContent = text; },
      read: function (r) {
        say.textContent = '';
        if (op === 'mrz.read') {
          doc = { mrz: r.lines.map(String) };
          document.querySelector('#step-business .who').textContent = t('已读取护照', 'Passport read');
        } else {
          doc = { name: String(r.name || ''), id_number: String(r.id_number) };
          document.querySelector('#step-business .who').textContent = t('已读取身份证', 'ID card read');
        }
        var group = doc.mrz ? 'foreigner' : 'citizen';
        document.querySelectorAll('[data-business]').forEach(function (b) {
          b.hidden = b.getAttribute('data-group') !== group;
        });
        show('business');
      },
      unavailable: function () {
        say.textContent = t('该阅读器暂不可用，请到服务台领取空白申请表', 'This reader is not available; please ask at the service desk for a blank form');
      }
    });
  }
  document.querySelectorAll('[data-reader]').forEach(function (b) {
    b.addEventListener('click', function () { read(b.getAttribute('data-reader')); });
  });
  document.querySelectorAll('[data-business]').forEach(function (b) {
    b.addEventListener('click', function () {
      business = b.getAttribute('data-business');
      document.querySelector('#step-phone .chosen').textContent = b.textContent;
      show('phone');
    });
  });

  // --- The form --------------------------------------------------------------------------------
  document.getElementById('print').addEventListener('click', function () {
    if (!doc) return;
    var data = Object.assign({ business: business, phone: document.getElementById('phone').value.trim() }, doc);
    fetch('/api/v1/kiosk/tbj/forms', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'accept-language': body.getAttribute('data-lang') === 'en' ? 'en' : 'zh-CN' },
      body: JSON.stringify(data)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) throw b;
        return b;
      });
    }).then(function (v) {
      if (!(bridge && bridge.ready && bridge.has('printer'))) {
        done([t('本机打印机暂不可用', 'The printer is not available'), t('请到服务台领取空白申请表', 'Please ask at the service desk for a blank form')], false);
        return;
      }
      say.textContent = t('正在打印申请表…', 'Printing your form…');
      return bridge.request('print', { pdf: v.pdf, copies: 1, paper: 'a4' }, 60000).then(function () {
        say.textContent = '';
        done([t('申请表已打印，请取走', 'Your form is printed; please take it'), t('请核对后签名，带上证件到窗口办理', 'Check it, sign it, and bring it with your document to a counter')], true);
      }, function (err) {
        say.textContent = '';
        done(err && err.code === 'no_media'
          ? [t('打印机缺纸，未能打印申请表', 'The printer is out of paper; your form was not printed'), t('请联系大厅工作人员加纸，或到服务台领取申请表', 'Please ask the staff to refill it, or ask at the service desk for a form')]
          : [t('未能打印申请表', 'Your form could not be printed'), t('请联系大厅工作人员，或到服务台领取申请表', 'Please ask the staff, or ask at the service desk for a form')], false);
      });
    }).catch(function (err) {
      var c = err && err.error && err.error.code;
      var what = err && err.error && err.error.message || t('系统繁忙，请稍后再试', 'Please try again in a moment');
      if (c === 'mrz_check_failed' || (c && c.indexOf('mrz_') === 0)) {
        doc = null;
        show('doc');
        // The citizen puts the passport again and chooses 护照: the message stays until then.
        error(what, t('请把护照资料页平放在阅读器上，点“护照”重新读取', 'Put the passport photo page flat on the reader and choose “Passport” to read it again'));
      } else {
        error(what, t('请核对后重试，或到服务台咨询', 'Check and try again, or ask at the service desk'));
      }
    });
  });

  document.getElementById('done').addEventListener('click', function (e) { e.preventDefault(); shell.wipe(); });

  bridge = window.WujingBridge.start('tbj', {
    down: function () {
      if (stopReading) stopReading();
    }
  });
  shell.useBridge(bridge);
})();
