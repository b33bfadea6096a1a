// 申请易 (docs/KIOSK.md §7.7): a passport application in one stop, on the kiosk shell
// (shell.js) and the peripheral bridge (bridge.js).
//
// Steps: the ID card read → the business → (under 16) the guardian's consent → the photo by
// `camera.photo`, checked by the server against RULES.md §5 → the fingerprints by
// `fingerprint.capture`, the finger each time named by the server's plan (RULES.md §5) → the
// signature by `signature.capture` (not for a pre-school child; "I cannot sign" recorded) →
// the submission, the form printed, "Done" wipes everything.
//
// Everything captured stays in this script's memory only (never in a field, the markup or a
// storage) until the one submission; the shell's wipe (and leaving the page) forgets it. Each
// failure says what to do next: another photo, the next finger, another try, or a counter.
(function () {
  'use strict';
  var shell = window.WujingShell;
  var t = shell.t;
  var session = null; // the citizen's data in memory: card, business, photo, prints, signature
  var bridge = null;
  var plan = null;

  var err = document.getElementById('err');
  var status = document.getElementById('status');
  shell.holding(function () { return session !== null; });

  function show(step) {
    document.querySelectorAll('main section[data-step]').forEach(function (s) {
      s.hidden = s.getAttribute('data-step') !== step;
    });
    document.querySelectorAll('.steps li').forEach(function (li) {
      if (li.getAttribute('data-for') === step) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    });
  }
  function say(text) { status.textContent = text || ''; }
  function fail(text, next) {
    err.textContent = '';
    var p = document.createElement('p');
    p.textContent = text;
    err.appendChild(p);
    if (next) {
      var h = document.createElement('p');
      h.className = 'help';
      h.textContent = next;
      err.appendChild(h);
    }
    err.hidden = false;
  }
  function clearErr() { err.hidden = true; err.textContent = ''; }
  /** Ends at a counter: a failure, unmistakably (shell.js `outcome`), the reason and the next
   * step, then only "Back to start" — nothing was done. */
  function toCounter(text, next) {
    clearErr();
    shell.outcome(document.getElementById('counter-result'), false, text,
      [next || t('请到人工窗口办理，工作人员将协助您', 'Please go to a counter; an officer will help you')]);
    show('counter');
  }

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) throw (b && b.error) || { code: 'http_' + r.status };
        return b;
      });
    });
  }
  function message(e) {
    if (e && e.message) return e.message;
    return t('系统暂时无法处理，请稍后再试', 'Something went wrong; please try again');
  }

  // --- 1. The card -------------------------------------------------------------------------
  function readCard() {
    show('card');
    shell.readCard(bridge, 'id_card.read', {
      say: function (text) { document.getElementById('reader-text').textContent = text; },
      read: function (card) {
        // The number and the name only: the photo, address and the rest are dropped unread.
        session = { id_number: card.id_number, name: card.name || '', captures: [], skipped: [] };
        card = null;
        document.getElementById('who').textContent = t('已读取身份证：' + masked(session.name), 'Card read: ' + masked(session.name));
        clearErr();
        show('business');
      },
      unavailable: function () {
        toCounter(t('读卡器暂不可用，本机暂不能办理', 'The card reader is not available; this machine cannot take applications now'));
      }
    });
  }
  function masked(name) {
    var c = Array.from(name.replace(/\s/g, ''));
    if (c.length <= 1) return '*';
    if (c.length === 2) return c[0] + '*';
    return c[0] + '*'.repeat(c.length - 2) + c[c.length - 1];
  }

  // --- 2. The business and the consent ------------------------------------------------------
  document.querySelectorAll('[data-business]').forEach(function (b) {
    b.addEventListener('click', function () {
      if (!session) return;
      session.business = b.getAttribute('data-business');
      askPlan().then(function (p) {
        if (!p) return;
        if (!p.mandatory) show('consent');
        else photoStep();
      });
    });
  });
  document.getElementById('consent-yes').addEventListener('click', function () { session.guardian_consent = true; photoStep(); });
  document.getElementById('consent-no').addEventListener('click', function () { session.guardian_consent = false; photoStep(); });

  /** The server's fingerprint plan for the captures so far. */
  function askPlan() {
    return post('/api/v1/kiosk/sqy/fingerprints/next', {
      id_number: session.id_number,
      guardian_consent: !!session.guardian_consent,
      skipped: session.skipped,
      captures: session.captures.map(function (c) { return { finger: c.finger, quality: c.quality }; })
    }).then(function (p) { plan = p; return p; }, function (e) {
      toCounter(message(e));
      return null;
    });
  }

  // --- 3. The photo ------------------------------------------------------------------------
  function photoStep() {
    clearErr();
    show('photo');
    if (!bridge || !bridge.has('camera')) {
      toCounter(t('相机暂不可用，本机暂不能拍照', 'The camera is not available'));
    }
  }
  var reasons = document.getElementById('photo-reasons');
  document.getElementById('take-photo').addEventListener('click', function () {
    clearErr();
    reasons.textContent = '';
    say(t('正在拍照，请保持不动…', 'Taking the photo; please keep still…'));
    bridge.request('camera.photo', { purpose: 'portrait' }, 30000).then(function (r) {
      return post('/api/v1/kiosk/sqy/photo', { jpeg: r.jpeg }).then(function (check) {
        say('');
        if (check.accepted) {
          session.photo = r.jpeg;
          say(t('照片合格', 'The photo meets the requirements'));
          printsStep();
          return;
        }
        // Each limit the photo fails, with what to do; then another photo.
        check.reasons.forEach(function (x) {
          var li = document.createElement('li');
          li.textContent = t(x.zh, x.en);
          reasons.appendChild(li);
        });
        fail(t('照片不符合要求，请按提示调整后重新拍照', 'The photo does not meet the requirements; adjust as shown and take it again'));
        document.getElementById('take-photo').textContent = t('重新拍照', 'Take it again');
      });
    }).catch(function (e) {
      say('');
      fail(t('未能拍照，请再试一次', 'The photo could not be taken; please try again'), e && e.code === 'device_error'
        ? t('如仍不行，请到人工窗口办理', 'If it still fails, please go to a counter') : '');
    });
  });

  // --- 4. The fingerprints -----------------------------------------------------------------
  var fingerText = document.getElementById('finger');
  function printsStep() {
    show('prints');
    nextFinger();
  }
  function nextFinger() {
    askPlan().then(function (p) {
      if (!p) return;
      if (p.step === 'capture') {
        fingerText.textContent = t(p.zh, p.en);
        document.getElementById('capture').disabled = false;
        return;
      }
      if (p.step === 'insufficient') {
        toCounter(t(p.zh, p.en), t('手指受伤的，请携带二级以上医院证明到窗口办理', 'For an injury, bring a certificate from a level-2 or higher hospital to a counter'));
        return;
      }
      say(t(p.zh, p.en));
      signStep();
    });
  }
  document.getElementById('capture').addEventListener('click', function () {
    if (!plan || plan.step !== 'capture') return;
    var finger = plan.finger;
    clearErr();
    document.getElementById('capture').disabled = true;
    say(t('正在采集，请按住不动…', 'Capturing; keep your finger still…'));
    bridge.request('fingerprint.capture', { finger: finger, min_quality: plan.min_quality }, 30000).then(function (r) {
      var q = Number(r.quality);
      var ok = q >= plan.min_quality;
      session.captures.push({ finger: finger, quality: q, image: ok ? r.image : null });
      say(ok ? t('指纹合格', 'Print taken') : '');
      if (!ok) poor();
      nextFinger();
    }, function (e) {
      if (e && e.code === 'read_failed') {
        session.captures.push({ finger: finger, quality: null, image: null });
        poor();
        nextFinger();
      } else {
        say('');
        document.getElementById('capture').disabled = false;
        fail(t('指纹采集器暂不可用，请再试一次', 'The fingerprint reader did not answer; please try again'),
          t('如仍不行，请到人工窗口办理', 'If it still fails, please go to a counter'));
      }
    });
  });
  function poor() {
    say('');
    fail(t('指纹不够清晰', 'The print was not clear enough'),
      t('请擦净手指，按屏幕提示再按一次（同一手指两次不合格将换下一手指）', 'Wipe the finger and press as the screen says (after two unclear prints the next finger is taken)'));
  }
  document.getElementById('missing').addEventListener('click', function () {
    if (!plan || plan.step !== 'capture') return;
    session.skipped.push(plan.finger);
    clearErr();
    nextFinger();
  });

  // --- 5. The signature --------------------------------------------------------------------
  function signStep() {
    clearErr();
    if (!plan.signature_asked) {
      submit();
      return;
    }
    show('sign');
  }
  document.getElementById('sign').addEventListener('click', function () {
    clearErr();
    say(t('请在签名板上签名，完成后按确认', 'Sign on the pad and confirm'));
    bridge.request('signature.capture', {}, 120000).then(function (r) {
      session.signature = r.png;
      say('');
      submit();
    }, function () {
      say('');
      fail(t('未能取得签名，请再签一次', 'The signature was not received; please sign again'),
        t('无法签名的请按“无法签名”', 'If you cannot sign, press "I cannot sign"'));
    });
  });
  document.getElementById('unable').addEventListener('click', function () {
    session.unable_to_sign = true;
    submit();
  });

  // --- 6. The submission and the form ------------------------------------------------------
  function submit() {
    say(t('正在提交申请…', 'Submitting your application…'));
    post('/api/v1/kiosk/sqy/applications', {
      id_number: session.id_number,
      name: session.name,
      business: session.business,
      photo: session.photo,
      guardian_consent: !!session.guardian_consent,
      skipped: session.skipped,
      captures: session.captures.map(function (c) {
        var out = { finger: c.finger, quality: c.quality };
        if (c.image) out.image = c.image;
        return out;
      }),
      signature: session.signature || null,
      unable_to_sign: !!session.unable_to_sign
    }).then(function (r) {
      say('');
      // The reference, not the row number: a sequential number tells how many were taken.
      shell.outcome(document.getElementById('receipt'), true, t('申请已受理', 'Application accepted'), [
        t('受理编号 ' + r.reference, 'Application no. ' + r.reference),
        r.name_masked + ' · ' + t(r.business_zh, r.business_en),
        t('预计 ' + r.ready_by + ' 前办结，可凭身份证在本厅窗口领取', 'Expected ready by ' + r.ready_by + '; collect it at a counter of this hall with your ID card')
      ]);
      show('done');
      printForm(r.form_pdf);
    }, function (e) {
      say('');
      if (e && e.code === 'photo_invalid') {
        fail(message(e), t('请重新拍照', 'Please take the photo again'));
        photoStep();
      } else {
        toCounter(message(e));
      }
    });
  }
  function printForm(pdf) {
    var state = document.getElementById('print-state');
    if (!pdf) {
      state.textContent = t('申请表暂不能打印，请到窗口领取', 'The form cannot be printed now; ask for it at a counter');
      return;
    }
    if (!bridge || !bridge.has('printer')) {
      state.textContent = t('本机无法打印，请到窗口领取申请表', 'This machine cannot print; ask for the form at a counter');
      return;
    }
    state.textContent = t('正在打印申请表…', 'Printing the form…');
    bridge.request('print', { pdf: pdf, copies: 1, paper: 'a4' }, 60000).then(function () {
      state.textContent = t('申请表已打印，请取走并核对签名', 'The form is printed; please take it and check it');
    }, function (e) {
      state.textContent = e && e.code === 'no_media'
        ? t('打印机缺纸，请到窗口领取申请表', 'The printer is out of paper; ask for the form at a counter')
        : t('未能打印，请到窗口领取申请表', 'It could not be printed; ask for the form at a counter');
    });
  }
  document.getElementById('done').addEventListener('click', function () { session = null; shell.wipe(); });
  document.getElementById('to-counter').addEventListener('click', function () { session = null; shell.wipe(); });

  // --- The bridge --------------------------------------------------------------------------
  var started = false;
  bridge = window.WujingBridge.start('sqy', {
    ready: function (b) {
      shell.useBridge(b);
      if (started) return;
      started = true;
      readCard();
    },
    down: function () {
      if (!started) {
        document.getElementById('reader-text').textContent =
          t('设备连接中，请稍候…', 'Connecting to the machine; please wait…');
      }
    }
  });
  // Leaving the page forgets the session (the shell's wipe reloads; a navigation drops it too).
  window.addEventListener('pagehide', function () { session = null; });
})();
