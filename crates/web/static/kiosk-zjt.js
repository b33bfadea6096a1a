// 证件通 (zjt): a foreigner's passport read by the MRZ reader (docs/KIOSK.md §7.4), on the kiosk
// shell (shell.js) and the bridge (bridge.js). Two paths:
//
// - check in: the passport's zone goes to the server, which checks it, finds today's booking
//   here through every passport linked to the person and checks it in; the ticket it answers
//   goes to the bridge's printer;
// - accommodation registration at a private home: the passport (and, for a visa, its page) is
//   read and checked, shown masked; the visa kind chosen, the last day of stay typed (or read
//   from the visa), the host's ID card read (or the name and number typed), the host's phone
//   and the address typed, the police station and the check-in day chosen; every problem the
//   server finds is listed, keeping what was read and typed; the reference and code are shown
//   once and printed as a receipt.
//
// Everything read lives in this script's variables and the page's fields; the shell's wipe
// (Done, or the idle reset) empties them and reloads the start address.
(function () {
  'use strict';
  var shell = window.WujingShell;
  var t = shell.t;
  var body = document.body;
  var say = document.getElementById('say');
  var steps = ['path', 'passport', 'visa', 'host', 'stay', 'done'];
  var path = null;
  var passport = null;
  var visa = null;
  var visaKind = null;
  var hostCard = null;
  var station = null;
  var bridge = null;
  var stopReading = null;
  var current = 'path';

  shell.holding(function () { return path !== null; });

  function $(id) { return document.getElementById(id); }
  function show(step) {
    current = step;
    steps.forEach(function (s) { $('step-' + s).hidden = s !== step; });
    $('back').hidden = !(step === 'visa' || step === 'host' || step === 'stay');
    clearError();
  }
  function clearError() {
    var e = document.querySelector('main .err');
    if (e) e.remove();
  }
  /** A refusal: what happened (one line or a list) and what to do next. */
  function error(what, next) {
    clearError();
    var e = document.createElement('div');
    e.className = 'err';
    e.setAttribute('role', 'alert');
    if (Array.isArray(what)) {
      var ul = document.createElement('ul');
      what.forEach(function (w) {
        var li = document.createElement('li');
        li.textContent = w;
        ul.appendChild(li);
      });
      e.appendChild(ul);
    } else {
      var p = document.createElement('p');
      p.textContent = what;
      e.appendChild(p);
    }
    if (next) {
      var h = document.createElement('p');
      h.className = 'help';
      h.textContent = next;
      e.appendChild(h);
    }
    document.querySelector('main h1').after(e);
  }
  function message(err) {
    return err && err.error && err.error.message ? err.error.message : t('系统繁忙，请稍后再试', 'Please try again in a moment');
  }
  function codeOf(err) { return err && err.error && err.error.code; }
  function api(url, data) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'accept-language': body.getAttribute('data-lang') === 'en' ? 'en' : 'zh-CN' },
      body: JSON.stringify(data)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) throw b;
        return b;
      });
    });
  }
  function maskId(n) {
    return n.length <= 4 ? n : n.slice(0, 2) + '*'.repeat(n.length - 4) + n.slice(-2);
  }
  function maskName(n) {
    var c = Array.from(n || '');
    return c.length ? c[0] + '*'.repeat(Math.max(1, Math.min(6, c.length - 1))) : '';
  }
  var FLAT = function () {
    return t('请把护照资料页平放在阅读器上，点“读取护照”重新读取', 'Lay the passport photo page flat on the reader and press “Read my passport” to read it again');
  };
  var unavailable = function () {
    say.textContent = t('护照阅读器暂不可用，请到咨询台办理', 'The passport reader is not available; please go to the information desk');
  };

  // --- 1. The path, 2. the passport ----------------------------------------------------------
  document.querySelectorAll('[data-path]').forEach(function (b) {
    b.addEventListener('click', function () {
      path = b.getAttribute('data-path');
      document.querySelector('#step-passport .what').textContent = path === 'checkin'
        ? t('预约签到：读取护照后自动取号', 'Check in: your number is issued once the passport is read')
        : t('住宿登记：先读取住客的护照', 'Accommodation registration: first the guest\'s passport');
      show('passport');
      readPassport();
    });
  });
  function read(op, then) {
    if (stopReading) stopReading();
    if (!(bridge && bridge.ready)) { unavailable(); return; }
    stopReading = shell.readCard(bridge, op, {
      say: function (text) { say.textContent = text; },
      read: function (r) { say.textContent = ''; stopReading = null; then(r); },
      unavailable: op === 'mrz.read' ? unavailable : function () {
        say.textContent = t('读卡器暂不可用，请在下方输入留宿人的姓名和身份证号码', 'The card reader is not available; type the host\'s name and ID number below');
      }
    });
  }
  function readPassport() {
    read('mrz.read', function (r) {
      var lines = r.lines.map(String);
      if (path === 'checkin') checkIn(lines);
      else readZone(lines, 'passport');
    });
  }
  $('read-passport').addEventListener('click', readPassport);

  /** A zone refused: a misread is read again, laid flat. */
  function zoneRefused(err, page) {
    var c = codeOf(err);
    if (page === 'passport') {
      passport = null;
      show('passport');
      error(message(err), c && c.indexOf('mrz_') === 0 ? FLAT() : t('如需帮助，请到咨询台', 'For help, please go to the information desk'));
    } else {
      visa = null;
      error(message(err), t('请把签证页平放在阅读器上，点“读取签证页”重新读取', 'Lay the visa page flat on the reader and press “Read my visa page” to read it again'));
    }
  }

  // --- Check-in -----------------------------------------------------------------------------
  function checkIn(lines) {
    api('/api/v1/kiosk/zjt/checkins', { mrz: lines }).then(function (v) {
      result([t('签到成功', 'Checked in'), t('您的号码', 'Your number'), v.ticket.label, t('请在等候区休息，留意叫号屏和广播', 'Please take a seat and watch the board')], true, 'ticket');
      printIt(v.ticket_pdf,
        t('号票已打印，请取走', 'Your ticket is printed; please take it'),
        t('请记下您的号码', 'Please note your number'));
    }, function (err) {
      var c = codeOf(err);
      if (c && c.indexOf('mrz_') === 0) { zoneRefused(err, 'passport'); return; }
      var next = c === 'booking_not_found'
        ? t('网上办事大厅“外国人”栏目可预约；也可到咨询台现场咨询', 'Book on the portal\'s pages for foreigners, or ask at the information desk')
        : c === 'checkin_too_early' ? t('请到时再来签到', 'Please come back then to check in')
          : t('请到咨询台咨询', 'Please ask at the information desk');
      result([message(err), next], false);
    });
  }

  // --- Accommodation registration --------------------------------------------------------------
  function readZone(lines, page) {
    api('/api/v1/kiosk/zjt/read', { mrz: lines, page: page }).then(function (v) {
      if (page === 'passport') {
        passport = lines;
        document.querySelector('#step-visa .who').textContent =
          t('已读取护照：', 'Passport read: ') + v.name + ' · ' + v.nationality + ' · ' + v.document_number;
        show('visa');
        $('stay-until').focus();
      } else {
        visa = lines;
        if (v.stay_until) $('stay-until').value = v.stay_until.replace(/-/g, '');
        document.querySelector('#step-visa .visa-read').textContent =
          t('已读取签证，停留截止日期：', 'Visa read; last day of stay: ') + (v.stay_until || '');
        clearError();
      }
    }, function (err) { zoneRefused(err, page); });
  }
  $('read-visa').addEventListener('click', function () {
    read('mrz.read', function (r) { readZone(r.lines.map(String), 'visa'); });
  });
  function pick(attr, btn) {
    document.querySelectorAll('[' + attr + ']').forEach(function (b) { b.setAttribute('aria-pressed', String(b === btn)); });
    return btn.getAttribute(attr);
  }
  document.querySelectorAll('[data-visa-kind]').forEach(function (b) {
    b.addEventListener('click', function () { visaKind = pick('data-visa-kind', b); });
  });
  $('visa-next').addEventListener('click', function () { show('host'); $('host-id').focus(); });

  function hostTyped(typed) {
    ['host-name', 'host-id'].forEach(function (id) {
      $(id).hidden = !typed;
      document.querySelector('label[for=' + id + ']').hidden = !typed;
    });
  }
  $('read-host').addEventListener('click', function () {
    read('id_card.read', function (r) {
      hostCard = { name: String(r.name || ''), id_number: String(r.id_number) };
      $('host-name').value = '';
      $('host-id').value = '';
      hostTyped(false);
      document.querySelector('#step-host .host-read').textContent =
        t('已读取留宿人身份证：', 'Host\'s ID card read: ') + maskName(hostCard.name) + ' · ' + maskId(hostCard.id_number);
      $('host-phone').focus();
    });
  });
  $('host-next').addEventListener('click', function () { show('stay'); });
  document.querySelectorAll('[data-station]').forEach(function (b) {
    b.addEventListener('click', function () { station = pick('data-station', b); });
  });
  document.querySelectorAll('[data-day]').forEach(function (b) {
    b.addEventListener('click', function () { pick('data-day', b); });
  });
  $('back').addEventListener('click', function () {
    show({ visa: 'passport', host: 'visa', stay: 'host' }[current] || 'path');
  });

  /** The step where a problem's field is put right. */
  function stepOf(field) {
    if (/^host_|^address$|^relationship$/.test(field)) return 'host';
    if (field === 'visa_kind' || field === 'stay_until') return 'visa';
    if (field === 'check_in' || field === 'departure') return 'stay';
    return 'passport';
  }
  $('register').addEventListener('click', function () {
    if (!passport) { show('passport'); return; }
    var day = document.querySelector('[data-day][aria-pressed=true]');
    var data = {
      passport: passport,
      visa_kind: visaKind || '',
      host_name: hostCard ? hostCard.name : $('host-name').value.trim(),
      host_id_number: hostCard ? hostCard.id_number : $('host-id').value.trim(),
      host_phone: $('host-phone').value.trim(),
      address: $('address').value.trim(),
      station: station || '',
      lang: body.getAttribute('data-lang') === 'en' ? 'en' : 'zh'
    };
    if (visa) data.visa = visa;
    if ($('stay-until').value.trim()) data.stay_until = $('stay-until').value.trim();
    if (day) data.check_in = day.getAttribute('data-day');
    api('/api/v1/kiosk/zjt/lodging', data).then(registered, function (err) {
      var c = codeOf(err);
      var problems = err && err.error && err.error.details && err.error.details.problems;
      if (c === 'lodging_invalid' && problems && problems.length) {
        // Every problem listed; what was read and typed stays, on the step of the first.
        var step = stepOf(problems[0].field);
        if (step === 'passport') step = 'visa';
        show(step);
        error(problems.map(function (p) { return t(p.zh, p.en); }), t('请更正后再提交', 'Put these right and submit again'));
      } else if (c && c.indexOf('mrz_') === 0) {
        zoneRefused(err, 'passport');
      } else if (c === 'lodging_site_invalid') {
        error(message(err), t('请选择住址所属的派出所', 'Choose the police station of the address'));
      } else {
        error(message(err), t('请稍后再试，或到咨询台办理', 'Try again later, or go to the information desk'));
      }
    });
  });
  function registered(v) {
    result([
      t('住宿登记已提交，派出所将核查', 'Your registration is submitted; the police station will check it'),
      t('登记编号', 'Reference') + '：' + v.reference,
      t('查询码（只显示一次，请记下）', 'Code (shown once: note it)') + '：' + v.code,
      t('派出所', 'Police station') + '：' + t(v.station_zh, v.station_en)
    ], true);
    printIt(v.receipt_pdf,
      t('回执已打印，请取走并妥善保管', 'Your receipt is printed; please take it and keep it'),
      t('请记下登记编号和查询码', 'Please note the reference and the code'));
  }

  // --- The result and the printer ----------------------------------------------------------------
  // The first line says what happened, the rest what to do next (shell.js `outcome`); `big`
  // is the class of the third line (the ticket's number).
  function result(lines, ok, big) {
    if (stopReading) stopReading();
    show('done');
    var box = shell.outcome(document.querySelector('#step-done .result'), ok, lines[0], lines.slice(1));
    var third = box.querySelectorAll('.next')[1];
    if (big && third) third.classList.add(big);
    passport = null;
    visa = null;
    hostCard = null;
  }
  function printIt(pdf, printed, note) {
    var state = $('print-state');
    var end = function () { if (bridge && bridge.ready) bridge.request('session.end').catch(function () {}); };
    if (!pdf || !(bridge && bridge.ready && bridge.has('printer'))) {
      state.textContent = t('本机暂不能打印。', 'This machine cannot print now. ') + note;
      end();
      return;
    }
    state.textContent = t('正在打印…', 'Printing…');
    bridge.request('print', { pdf: pdf, copies: 1, paper: 'a4' }, 60000).then(function () {
      state.textContent = printed;
    }, function (err) {
      state.textContent = (err && err.code === 'no_media'
        ? t('打印机缺纸，未能打印。', 'The printer is out of paper. ')
        : t('未能打印。', 'It could not be printed. ')) + note;
    }).then(end);
  }

  $('done').addEventListener('click', function (e) { e.preventDefault(); shell.wipe(); });

  bridge = window.WujingBridge.start('zjt', {
    down: function () { if (stopReading) stopReading(); stopReading = null; }
  });
  shell.useBridge(bridge);
})();
