// 预约机 (yyj): in-hall booking with the ID card read (docs/KIOSK.md §7.8), on the kiosk shell
// (shell.js) and the bridge (bridge.js).
//
// The card read gives the name and the identity number (nothing else is kept: the photo and
// address are dropped unread); the citizen chooses the business, the day and time of this
// hall, types the mobile number on the keypad (and the code texted to it, where the server
// requires one), and books. The server books through the portal's spine on the machine's
// channel and answers the slip as a PDF, which goes to the bridge's printer. Everything of the
// citizen lives in this script's variables and the page's fields, which the shell's wipe
// empties (Done, or the idle reset).
(function () {
  'use strict';
  var shell = window.WujingShell;
  var t = shell.t;
  var body = document.body;
  var say = document.getElementById('say');
  var readBtn = document.getElementById('read-card');
  var steps = ['card', 'business', 'slot', 'phone', 'done'];
  var card = null;
  var business = null;
  var slot = null;
  var stopReading = null;
  var bridge = null;

  // A citizen's card read, or their result on the screen, keeps the idle reset armed (the
  // shell cannot see either in a field).
  shell.holding(function () { return card !== null || !document.getElementById('step-done').hidden; });

  function show(step) {
    steps.forEach(function (s) {
      document.getElementById('step-' + s).hidden = s !== step;
    });
    document.getElementById('back').hidden = !(step === 'slot' || step === 'phone');
    clearError();
  }
  function clearError() {
    var e = document.querySelector('main .err');
    if (e) e.remove();
  }
  /** A refusal: what happened and what to do next, in the screen's language. */
  function error(what, next) {
    clearError();
    var e = document.createElement('div');
    e.className = 'err';
    e.setAttribute('role', 'alert');
    var p = document.createElement('p');
    p.textContent = what;
    e.appendChild(p);
    if (next) {
      var h = document.createElement('p');
      h.className = 'help';
      h.textContent = next;
      e.appendChild(h);
    }
    document.querySelector('main h1').after(e);
  }
  function message(err) {
    // The server answers in the screen's language (Chinese while both are shown).
    return err && err.error && err.error.message ? err.error.message : t('系统繁忙，请稍后再试', 'Please try again in a moment');
  }
  function api(method, url, data) {
    return fetch(url, {
      method: method,
      credentials: 'same-origin',
      headers: Object.assign({ 'accept-language': body.getAttribute('data-lang') === 'en' ? 'en' : 'zh-CN' },
        data ? { 'content-type': 'application/json' } : {}),
      body: data ? JSON.stringify(data) : undefined
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) throw b;
        return b;
      });
    });
  }
  function masked(name) {
    var c = Array.from(name || '');
    return c.length <= 1 ? c.join('') : c[0] + '*'.repeat(Math.max(1, c.length - 2)) + (c.length > 2 ? c[c.length - 1] : '');
  }

  // --- 1. The card -------------------------------------------------------------------------
  function read() {
    if (!bridge) return;
    readBtn.hidden = true;
    stopReading = shell.readCard(bridge, 'id_card.read', {
      say: function (text) { say.textContent = text; },
      read: function (r) {
        card = { name: String(r.name || ''), id_number: String(r.id_number) };
        say.textContent = '';
        document.querySelector('#step-business .who').textContent =
          t('您好，' + masked(card.name) + '。', 'Hello, ' + masked(card.name) + '.');
        show('business');
      },
      unavailable: function () {
        say.textContent = t('读卡器暂不可用：请到服务台预约，或用手机在网上预约', 'The card reader is not available: please book at the service desk, or online on your phone');
      }
    });
  }
  readBtn.addEventListener('click', read);

  // --- 2. The business, 3. the day and time --------------------------------------------------
  document.querySelectorAll('[data-business]').forEach(function (b) {
    b.addEventListener('click', function () {
      business = { code: b.getAttribute('data-business'), name: b.textContent };
      show('slot');
      day(document.querySelector('[data-day]'));
    });
  });
  var slots = document.getElementById('slots');
  function day(btn) {
    document.querySelectorAll('[data-day]').forEach(function (d) { d.setAttribute('aria-pressed', String(d === btn)); });
    slots.textContent = t('正在查询…', 'Looking…');
    api('GET', '/api/v1/kiosk/yyj/slots?business=' + encodeURIComponent(business.code) + '&date=' + btn.getAttribute('data-day'))
      .then(function (v) {
        slots.textContent = '';
        if (!v.slots.length) {
          slots.textContent = t('当天已无可预约时段，请选择其他日期', 'Nothing free that day; please choose another day');
          return;
        }
        v.slots.forEach(function (s) {
          var b = document.createElement('button');
          b.type = 'button';
          b.className = 'choice';
          b.setAttribute('data-slot', String(s.slot_id));
          b.textContent = s.start + '–' + s.end;
          b.addEventListener('click', function () {
            slot = s;
            document.querySelector('#step-phone .chosen').textContent = business.name + ' · ' + s.date + ' ' + s.start + '–' + s.end;
            show('phone');
          });
          slots.appendChild(b);
        });
      }, function (err) {
        slots.textContent = '';
        error(message(err), t('请选择其他日期，或到服务台咨询', 'Choose another day, or ask at the service desk'));
      });
  }
  document.querySelectorAll('[data-day]').forEach(function (d) {
    d.addEventListener('click', function () { day(d); });
  });
  document.getElementById('back').addEventListener('click', function () {
    show(document.getElementById('step-phone').hidden ? 'business' : 'slot');
  });

  // --- 4. The phone, the booking ---------------------------------------------------------------
  var phone = document.getElementById('phone');
  var code = document.getElementById('phone-code');
  var send = document.getElementById('send-code');
  if (send) send.addEventListener('click', function () {
    api('POST', '/api/v1/phone-codes', { phone: phone.value.trim(), purpose: 'book' }).then(function () {
      say.textContent = t('验证码已发送，请输入', 'A code was sent; please type it');
      code.focus();
    }, function (err) {
      error(message(err), t('请核对手机号码后重试', 'Check the number and try again'));
    });
  });
  /** What the citizen can do about a refused booking. */
  function nextStep(c) {
    switch (c) {
      case 'slot_full': return t('该时段刚被约满，请返回选择其他时间', 'That time was just taken; go back and choose another');
      case 'phone_invalid': case 'phone_code_invalid': case 'phone_code_required':
        return t('请核对手机号码（和验证码）后重试', 'Check the number (and the code) and try again');
      case 'already_booked': return t('您已有一笔有效预约，可凭预约号到签到机签到，或到服务台咨询', 'You have a booking already: check in with its code, or ask at the service desk');
      case 'not_eligible': return t('请到服务台咨询可办理的业务', 'Please ask at the service desk what you can apply for');
      default: return t('请重试，或到服务台咨询', 'Try again, or ask at the service desk');
    }
  }
  document.getElementById('book').addEventListener('click', function () {
    if (!card || !slot) return;
    var data = {
      slot_id: slot.slot_id,
      business: business.code,
      name: card.name,
      id_number: card.id_number,
      phone: phone.value.trim(),
      lang: document.documentElement.lang === 'en' ? 'en' : 'zh-CN'
    };
    if (code && code.value.trim()) data.phone_code = code.value.trim();
    api('POST', '/api/v1/kiosk/yyj/bookings', data).then(done, function (err) {
      var c = err && err.error && err.error.code;
      var reasons = err && err.error && err.error.details && err.error.details.reasons;
      var what = message(err);
      if (reasons && reasons.length) {
        what += '：' + reasons.map(function (r) { return t(r.message_zh, r.message_en); }).join('；');
      }
      error(what, nextStep(c));
    });
  });

  // --- 5. The slip -------------------------------------------------------------------------------
  function done(v) {
    var b = v.booking;
    show('done');
    // Booked: only now does the way out say "Done".
    shell.finished(true);
    var slip = document.querySelector('#step-done .slip');
    slip.textContent = '';
    [
      [t('预约号', 'Booking code'), b.code, 'code'],
      [t('业务', 'Business'), t(b.business.name_zh, b.business.name_en)],
      [t('时间', 'Time'), b.date + ' ' + b.start + '–' + b.end],
      [t('申请人', 'Applicant'), b.applicant.name]
    ].forEach(function (row) {
      var p = document.createElement('p');
      p.textContent = row[0] + '：';
      var s = document.createElement('strong');
      s.textContent = row[1];
      if (row[2]) s.className = row[2];
      p.appendChild(s);
      slip.appendChild(p);
    });
    card = null;
    phone.value = '';
    if (code) code.value = '';
    var state = document.getElementById('print-state');
    var end = function () { if (bridge && bridge.ready) bridge.request('session.end').catch(function () {}); };
    if (!v.slip_pdf || !(bridge && bridge.ready && bridge.has('printer'))) {
      state.textContent = t('请记下预约号，预约号也已发送到您的手机', 'Please note the code; it was also sent to your phone');
      end();
      return;
    }
    state.textContent = t('正在打印预约凭条…', 'Printing your slip…');
    bridge.request('print', { pdf: v.slip_pdf, copies: 1, paper: 'a4' }, 60000).then(function () {
      state.textContent = t('凭条已打印，请取走。请按时携带身份证到大厅签到', 'Your slip is printed; please take it. Come at the time with your ID card and check in');
    }, function (err) {
      state.textContent = err && err.code === 'no_media'
        ? t('打印机缺纸，未能打印凭条：请记下预约号（已发送到您的手机），并告知工作人员', 'The printer is out of paper: please note the code (it was also texted to you) and tell the staff')
        : t('未能打印凭条，请记下预约号（已发送到您的手机）', 'The slip could not be printed; please note the code (it was also texted to you)');
    }).then(end);
  }

  document.getElementById('done').addEventListener('click', function (e) { e.preventDefault(); shell.wipe(); });

  bridge = window.WujingBridge.start('yyj', {
    ready: function (b) {
      if (card || document.getElementById('step-card').hidden) return;
      if (!b.has('id_reader')) {
        say.textContent = t('读卡器暂不可用：请到服务台预约，或用手机在网上预约', 'The card reader is not available: please book at the service desk, or online on your phone');
        return;
      }
      read();
    },
    down: function () {
      if (stopReading) stopReading();
      if (!card) {
        readBtn.hidden = false;
        say.textContent = t('读卡器暂不可用：请到服务台预约，或用手机在网上预约', 'The card reader is not available: please book at the service desk, or online on your phone');
      }
    }
  });
  shell.useBridge(bridge);
})();
