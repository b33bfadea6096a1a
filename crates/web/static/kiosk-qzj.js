// 取证机 (qzj): collection from the pickup locker (docs/KIOSK.md §7.6), on the kiosk shell
// (shell.js) and the bridge (bridge.js).
//
// The ID card read gives the identity number (nothing else is used); the citizen types the
// pickup code; the server names the compartment (nothing changes yet); the bridge opens it
// (`locker.open`). The door opened: the server records the collection. It did not (a jam, or
// no answer — the page cannot know the door opened): the server marks the compartment jammed,
// keeps the document collectable at the counter and raises the alert, and the screen sends the
// citizen to the counter with the reason. Each report carries the same number and code, which
// the shell's wipe forgets with the rest.
(function () {
  'use strict';
  var shell = window.WujingShell;
  var t = shell.t;
  var body = document.body;
  var say = document.getElementById('say');
  var readBtn = document.getElementById('read-card');
  var codeField = document.getElementById('code');
  var openBtn = document.getElementById('open');
  var idNumber = null;
  var bridge = null;
  var stopReading = null;
  var busy = false;

  // A citizen's card read, or their result on the screen, keeps the idle reset armed (the
  // shell cannot see either in a field).
  shell.holding(function () { return idNumber !== null || !document.getElementById('step-done').hidden; });

  function show(step) {
    ['card', 'code', 'done'].forEach(function (s) {
      document.getElementById('step-' + s).hidden = s !== step;
    });
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
  function post(what) {
    return fetch('/api/v1/kiosk/qzj/' + what, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'accept-language': body.getAttribute('data-lang') === 'en' ? 'en' : 'zh-CN' },
      body: JSON.stringify({ id_number: idNumber, code: codeField.value.trim() })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) throw b;
        return b;
      });
    });
  }
  var unavailable = function () {
    say.textContent = t('读卡器或柜门暂不可用：请到取证窗口领取证件', 'The card reader or the lockers are not available: please collect your document at the counter');
  };

  // --- The card --------------------------------------------------------------------------------
  function read() {
    if (!bridge) return;
    readBtn.hidden = true;
    stopReading = shell.readCard(bridge, 'id_card.read', {
      say: function (text) { say.textContent = text; },
      read: function (r) {
        // Only the number: the name, photo and address are dropped unread.
        idNumber = String(r.id_number);
        say.textContent = t('已读取身份证，请输入取件码', 'Card read; please type your pickup code');
        show('code');
        codeField.focus();
      },
      unavailable: unavailable
    });
  }
  readBtn.addEventListener('click', read);

  // --- The code and the door -------------------------------------------------------------------
  function done(lines, ok) {
    clearError();
    show('done');
    // The first line says what happened, the rest what to do next (shell.js `outcome`).
    shell.outcome(document.querySelector('#step-done .result'), ok, lines[0], lines.slice(1));
    idNumber = null;
    codeField.value = '';
    if (bridge && bridge.ready) bridge.request('session.end').catch(function () {});
  }
  function refused(err) {
    var c = err && err.error && err.error.code;
    var what = err && err.error && err.error.message || t('系统繁忙，请稍后再试', 'Please try again in a moment');
    if (c === 'compartment_jammed') {
      done([what, t('请到取证窗口出示身份证领取', 'Please show your ID card at the collection counter')], false);
    } else if (c === 'pickup_code_invalid') {
      error(what, t('请核对短信中的8位取件码后重新输入；证件须由申请人本人凭身份证领取', 'Check the 8-digit code in the text message and type it again; the applicant collects with their own ID card'));
      codeField.value = '';
    } else if (c === 'proof_throttled') {
      done([what, t('请稍后再试，或到取证窗口出示身份证领取', 'Try again later, or collect at the counter with your ID card')], false);
    } else {
      error(what, t('请重试，或到取证窗口领取', 'Try again, or collect at the counter'));
    }
  }
  openBtn.addEventListener('click', function () {
    if (busy || !idNumber) return;
    if (!/^\d{8}$/.test(codeField.value.trim())) {
      error(t('取件码为8位数字', 'The pickup code has 8 digits'), t('请核对短信后重新输入', 'Check the text message and type it again'));
      return;
    }
    if (!(bridge && bridge.ready && bridge.has('locker'))) {
      unavailable();
      return;
    }
    busy = true;
    clearError();
    post('open').then(function (v) {
      var label = v.compartment;
      say.textContent = t('正在打开 ' + label + ' 号柜门…', 'Opening compartment ' + label + '…');
      return bridge.request('locker.open', { compartment: label }, 10000).then(function () {
        return post('collect').then(function () {
          say.textContent = '';
          done([
            t(label + ' 号柜门已打开，请取走您的证件并关好柜门', 'Compartment ' + label + ' is open: please take your document and close the door'),
            t('请当场核对证件信息', 'Please check the document before you leave')
          ], true);
        });
      }, function (err) {
        // The door did not open (a jam), or the page cannot know it did: the compartment is
        // reported, the document stays collectable at the counter.
        say.textContent = '';
        return post('jam').then(function (j) {
          var jam = err && err.details && err.details.state === 'jam';
          done([
            t('柜门未能打开' + (jam ? '（柜门卡住）' : '') + '，您的证件仍在 ' + j.compartment + ' 号格口，不会丢失',
              'The door did not open' + (jam ? ' (it is jammed)' : '') + '; your document is still in compartment ' + j.compartment + ' and safe'),
            t(j.next_zh, j.next_en),
            t('工作人员已收到提醒', 'The staff have been alerted')
          ], false);
        });
      });
    }).catch(refused).then(function () { busy = false; });
  });

  document.getElementById('done').addEventListener('click', function (e) { e.preventDefault(); shell.wipe(); });

  bridge = window.WujingBridge.start('qzj', {
    ready: function (b) {
      if (idNumber || document.getElementById('step-card').hidden) return;
      if (!b.has('id_reader') || !b.has('locker')) {
        unavailable();
        return;
      }
      read();
    },
    down: function () {
      if (stopReading) stopReading();
      if (!idNumber) {
        readBtn.hidden = false;
        unavailable();
      }
    }
  });
  shell.useBridge(bridge);
})();
